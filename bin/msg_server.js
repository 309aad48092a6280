#!/usr/bin/env -S node --max-semi-space-size=64
// Installed as the `msg_server` binary; the code is compiled from services/msg_server/main.ts by `npm run build`.
import "../dist/services/msg_server/main.js";
