#!/usr/bin/env -S node --max-semi-space-size=64
// Installed as the `manager` binary; the code is compiled from services/manager/main.ts by `npm run build`.
import "../dist/services/manager/main.js";
