#!/usr/bin/env node
// Installed as the `client_p2p` binary; the code is compiled from services/client_p2p/main.ts by `npm run build`.
import "../dist/services/client_p2p/main.js";
