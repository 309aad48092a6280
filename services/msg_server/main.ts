#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { createRedis } from "../../shared/bus/redis.js";
import { redisKeys } from "../../shared/bus/keys.js";
import { startHeartbeat } from "../../shared/bus/registry.js";
import { listenTcp } from "../../shared/net/tcp-server.js";
import { openStore } from "../../shared/store/open-store.js";
import { advertiseAddrOf, msgServerSchema } from "./config.js";
import { MsgServer } from "./msg-server.js";

void runService(
  {
    name: "msg_server",
    description: "FishChat msg_server: client sessions, p2p and topic delivery",
    defaultConf: "conf/msg_server.19000.json",
    schema: msgServerSchema,
    instanceOf: advertiseAddrOf,
    async start(cfg, log) {
      const serverId = advertiseAddrOf(cfg);
      const keys = redisKeys(cfg.redis.keyPrefix);
      const redis = createRedis(cfg.redis, log, `msg_server:${serverId}`);
      const sub = createRedis(cfg.redis, log, `msg_server:${serverId}:sub`);
      const store = await openStore(
        { mongoUri: cfg.store.mongoUri || process.env.FISHCHAT_MONGO_URI, mongoDb: cfg.store.mongoDb, dataDir: cfg.store.dataDir, inboxMaxPending: cfg.store.inboxMaxPending, durability: cfg.store.durability },
        log,
      );
      const core = new MsgServer({ cfg, log, store, redis, keys, serverId });

      // Kicks of duplicate logins arrive on this server's control channel.
      sub.on("message", (_ch: string, message: string) => core.onControl(message));
      void sub.subscribe(keys.control(serverId)).catch((err: Error) => log.warn({ err: err.message }, "control subscribe failed; will retry on reconnect"));
      // After a Redis restart the session table is empty: re-register everyone at once.
      let readyOnce = false;
      redis.on("ready", () => {
        if (readyOnce) void core.refreshSessions();
        readyOnce = true;
      });

      const server = await listenTcp(cfg.listen, (socket) => core.handleSocket(socket));
      core.start();
      const heartbeat = startHeartbeat({ redis, keys, log }, { role: "msg_server", id: serverId, addr: serverId, version: VERSION }, cfg, () => ({
        ...core.gauges(),
        ...core.lastStats,
      }));
      log.info({ listen: cfg.listen, advertise: serverId, store: store.kind }, "msg_server listening");
      return {
        async close() {
          await heartbeat.stop();
          await core.close();
          await server.close();
          await store.close();
          redis.disconnect();
          sub.disconnect();
        },
      };
    },
  },
  process.argv,
);
