#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { RegistryPublisher } from "../../shared/bus/process-registry.js";
import { listenTcp } from "../../shared/net/tcp-server.js";
import { TcpTransport } from "../../shared/net/tcp-transport.js";
import { openStore } from "../../shared/store/open-store.js";
import { splitHostPort } from "../../shared/config/common.js";
import { JSON_DIALECT } from "../../shared/protocol/json-dialect.js";
import { advertiseAddrOf, msgServerSchema } from "./config.js";
import { MsgServer } from "./msg-server.js";
import { listenWs } from "./ws-listener.js";

void runService(
  {
    name: "msg_server",
    description: "FishChat msg_server: client sessions, p2p and topic delivery",
    defaultConf: "conf/msg_server.19000.json",
    schema: msgServerSchema,
    instanceOf: advertiseAddrOf,
    async start(cfg, log) {
      const serverId = advertiseAddrOf(cfg);
      const bus = openRedisBus(cfg.redis, log, { name: `msg_server:${serverId}`, sessionTtlMs: cfg.sessionTtlMs });
      const store = await openStore(cfg.store, log);
      const core = new MsgServer({ cfg, log, store, bus, serverId });

      // Kicks of duplicate logins arrive on this server's control channel.
      bus.control.listen(serverId, (m) => core.sessions.onControl(m)).catch((err: unknown) => log.warn({ err }, "control subscribe failed; will retry on reconnect"));
      // After a Redis restart the session table is empty: re-register everyone at once.
      bus.onReconnect(() => void core.sessions.refresh());

      const server = await listenTcp(cfg.listen, (socket) => core.handleTransport(new TcpTransport(socket)));
      // Browsers and apps: the JSON dialect over WebSocket, on its own port (docs/PROTOCOL.md "WebSocket").
      const ws = cfg.ws
        ? await listenWs({
            cfg: cfg.ws,
            maxPayloadBytes: cfg.maxLineBytes,
            idleTimeoutMs: cfg.idleTimeoutMs,
            advertiseHost: splitHostPort(serverId).host,
            log,
            onTransport: (t) => core.handleTransport(t, JSON_DIALECT),
          })
        : null;
      core.start();
      const who = { role: "msg_server" as const, id: serverId, addr: serverId, version: VERSION, ...(ws ? { ws: ws.url } : {}) };
      const heartbeat = new RegistryPublisher(bus.registry, who, cfg, () => core.statsSnapshot(), log).start();
      log.info({ listen: cfg.listen, advertise: serverId, ws: ws?.url, store: store.kind }, "msg_server listening");
      return {
        async close() {
          await heartbeat.stop();
          await core.close();
          await server.close();
          await ws?.close();
          await store.close();
          await bus.close();
        },
      };
    },
  },
  process.argv,
);
