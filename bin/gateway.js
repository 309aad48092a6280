#!/usr/bin/env node
// Installed as the `gateway` binary; the code is compiled from services/gateway/main.ts by `npm run build`.
require("../dist/services/gateway/main.js");
