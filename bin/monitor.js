#!/usr/bin/env node
// Installed as the `monitor` binary; the code is compiled from services/monitor/main.ts by `npm run build`.
require("../dist/services/monitor/main.js");
