#!/usr/bin/env -S node --max-semi-space-size=64
// Installed as the `router` binary; the code is compiled from services/router/main.ts by `npm run build`.
import "../dist/services/router/main.js";
