#!/usr/bin/env -S node --max-semi-space-size=64
// Installed as the `gateway` binary; the code is compiled from services/gateway/main.ts by `npm run build`.
import "../dist/services/gateway/main.js";
