#!/usr/bin/env node
// Installed as the `msg_server` binary; the code is compiled from services/msg_server/main.ts by `npm run build`.
require("../dist/services/msg_server/main.js");
