#!/usr/bin/env -S node --max-semi-space-size=64
// Installed as the `monitor` binary; the code is compiled from services/monitor/main.ts by `npm run build`.
import "../dist/services/monitor/main.js";
