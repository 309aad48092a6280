#!/usr/bin/env node
// Installed as the `token` binary; the code is compiled from services/token/main.ts by `npm run build`.
import "../dist/services/token/main.js";
