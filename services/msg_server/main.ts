#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { RegistryPublisher } from "../../shared/bus/process-registry.js";
import { enforceExposure } from "../../shared/config/exposure.js";
import { listenTcp } from "../../shared/net/tcp-server.js";
import { TcpTransport } from "../../shared/net/tcp-transport.js";
import { openStore } from "../../shared/store/open-store.js";
import { ClientAuth } from "./client-auth.js";
import { splitHostPort } from "../../shared/config/common.js";
import { JSON_DIALECT } from "../../shared/protocol/json-dialect.js";
import { tlsServerOptions } from "../../shared/net/tls-config.js";
import { advertiseAddrOf, msgServerSchema, tlsAdvertiseAddrOf } from "./config.js";
import { MsgServer } from "./msg-server.js";
import { listenWs } from "./ws-listener.js";
import { FILES_PATH, filesHandler } from "./files-http.js";
import { startTraceFromEnv } from "../../shared/trace/from-env.js";
import { traceLmdbCommits } from "../../shared/trace/lmdb-trace.js";
import { lmdbDbsOf } from "../../shared/store/lmdb-store.js";

void runService(
  {
    name: "msg_server",
    description: "FishChat msg_server: client sessions, p2p and topic delivery",
    defaultConf: "conf/msg_server.19000.json",
    schema: msgServerSchema,
    instanceOf: advertiseAddrOf,
    async start(cfg, log) {
      const serverId = advertiseAddrOf(cfg);
      const listeners = [
        { name: "listen", addr: cfg.listen, clientFacing: true, tls: cfg.tlsListen ? undefined : false },
        ...(cfg.tlsListen ? [{ name: "tlsListen", addr: cfg.tlsListen, tls: true, clientFacing: true }] : []),
        ...(cfg.ws ? [{ name: "ws.listen", addr: cfg.ws.listen, tls: Boolean(cfg.ws.tls), clientFacing: true }] : []),
      ];
      enforceExposure({ listeners, clusterSecret: cfg.clusterSecret, clientAuthMode: cfg.clientAuth.mode }, log);
      const bus = openRedisBus(cfg.redis, log, { name: `msg_server:${serverId}`, sessionTtlMs: cfg.sessionTtlMs });
      const auth = await ClientAuth.create(cfg.clientAuth, cfg.limits, bus.revocations, log);
      const store = await openStore(cfg.store, log);
      // Opt-in (FISHCHAT_TRACE_FILE): GC pauses, loop lag, store commit batches; nothing runs without it.
      const trace = startTraceFromEnv("msg_server", log);
      const dbs = trace ? lmdbDbsOf(store) : undefined;
      if (trace && dbs) traceLmdbCommits(dbs.env, trace.tracer);
      const core = new MsgServer({ cfg, log, store, bus, auth, serverId });

      // Kicks of duplicate logins arrive on this server's control channel.
      bus.control.listen(serverId, (m) => core.onControl(m)).catch((err: unknown) => log.warn({ err }, "control subscribe failed; will retry on reconnect"));
      // Revocations close the live sessions they name, cluster-wide.
      await auth.start((r) => core.onRevoked(r)).catch((err: unknown) => log.warn({ err }, "revocation list not loaded yet; retrying in the background"));
      // After a Redis restart the session table is empty: re-register everyone at once.
      bus.onReconnect(() => void core.sessions.refresh());

      const server = await listenTcp(cfg.listen, (socket) => core.handleTransport(new TcpTransport(socket)));
      // TLS: both codecs on a port of its own (a ClientHello is never taken for a v1 frame); internal links too.
      const tlsServer = cfg.tlsListen && cfg.tls ? await listenTcp(cfg.tlsListen, (socket) => core.handleTransport(new TcpTransport(socket)), tlsServerOptions(cfg.tls, "tls")) : null;
      const tlsAddr = tlsAdvertiseAddrOf(cfg);
      // Browsers and apps: the JSON dialect over WebSocket, on its own port (docs/PROTOCOL.md "WebSocket").
      const ws = cfg.ws
        ? await listenWs({
            cfg: cfg.ws,
            maxPayloadBytes: cfg.maxLineBytes,
            idleTimeoutMs: cfg.idleTimeoutMs,
            advertiseHost: splitHostPort(serverId).host,
            log,
            onTransport: (t) => core.handleTransport(t, JSON_DIALECT),
            // Files over HTTP on the same listener (docs/PROTOCOL.md, "Files, images and voice notes").
            ...(cfg.attachments.enabled
              ? {
                  onHttp: filesHandler({ cfg, store, auth, allowedOrigins: cfg.ws.allowedOrigins, log }),
                  httpRequestTimeoutMs: cfg.attachments.uploadTimeoutMs,
                }
              : {}),
          })
        : null;
      if (ws && cfg.attachments.enabled) core.filesUrl = cfg.attachments.advertiseUrl ?? `${ws.httpOrigin}${FILES_PATH}`;
      core.start();
      const who = { role: "msg_server" as const, id: serverId, addr: serverId, version: VERSION, ...(ws ? { ws: ws.url } : {}), ...(core.filesUrl ? { files: core.filesUrl } : {}), ...(tlsAddr ? { tls: tlsAddr } : {}) };
      const heartbeat = new RegistryPublisher(bus.registry, who, cfg, () => core.statsSnapshot(), log).start();
      log.info({ listen: cfg.listen, advertise: serverId, ws: ws?.url, store: store.kind, clientAuth: cfg.clientAuth.mode }, "msg_server listening");
      return {
        stopTimeoutMs: cfg.drainMs + 3000,
        reload: () => auth.reload(),
        async close() {
          // Each phase is logged with its time, so a stop that hangs says where.
          const phase = async (name: string, fn: () => unknown) => {
            const t0 = performance.now();
            await fn();
            log.info({ phase: name, ms: Math.round(performance.now() - t0) }, "stop phase done");
          };
          // Leave the gateway's rotation first, then stop accepting, then let clients move.
          await phase("withdraw", () => heartbeat.stop());
          server.stopAccepting();
          tlsServer?.stopAccepting();
          await phase("drain", () => core.drain(cfg.drainMs));
          await phase("core", () => core.close());
          await phase("listeners", async () => {
            await server.close();
            await tlsServer?.close();
            await ws?.close();
          });
          await phase("store", () => store.close());
          await phase("bus", () => bus.close());
          trace?.stop();
        },
      };
    },
  },
  process.argv,
);
