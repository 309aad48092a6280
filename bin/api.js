#!/usr/bin/env -S node --max-semi-space-size=64
// Installed as the `api` binary; the code is compiled from services/api/main.ts by `npm run build`.
import "../dist/services/api/main.js";
