#!/usr/bin/env node
// Installed as the `client_topic` binary; the code is compiled from services/client_topic/main.ts by `npm run build`.
import "../dist/services/client_topic/main.js";
