#!/usr/bin/env node
// Installed as the `router` binary; the code is compiled from services/router/main.ts by `npm run build`.
require("../dist/services/router/main.js");
