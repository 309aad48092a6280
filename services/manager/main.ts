#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { createRedis } from "../../shared/bus/redis.js";
import { redisKeys } from "../../shared/bus/keys.js";
import { startHeartbeat } from "../../shared/bus/registry.js";
import { createLinkSet } from "../../shared/net/link-set.js";
import { listenAdminPort } from "../../shared/net/admin-port.js";
import { openStore } from "../../shared/store/open-store.js";
import { managerSchema } from "./config.js";
import { Manager } from "./manager.js";

void runService(
  {
    name: "manager",
    description: "FishChat manager: v1 Redis cache and client records in the store",
    defaultConf: "conf/manager.json",
    schema: managerSchema,
    instanceOf: (cfg) => cfg.id,
    async start(cfg, log) {
      const keys = redisKeys(cfg.redis.keyPrefix);
      const redis = createRedis(cfg.redis, log, "manager");
      const store = await openStore(
        { mongoUri: cfg.store.mongoUri || process.env.FISHCHAT_MONGO_URI, mongoDb: cfg.store.mongoDb, dataDir: cfg.store.dataDir, inboxMaxPending: cfg.store.inboxMaxPending, durability: cfg.store.durability },
        log,
      );
      const manager = new Manager(cfg, log, redis, store);
      const links = createLinkSet(cfg, { redis, keys, log }, {
        channels: Manager.channels,
        onCommand: (l, cmd) => manager.onCommand(l, cmd),
        onUp: (l) => manager.onLinkUp(l),
        onDown: (l) => manager.onLinkDown(l, cfg.registryTtlMs + 2000, () => !l.isUp),
      });
      links.start();
      const stats = () => ({ ...manager.counters, links: links.all().length, linksUp: links.all().filter((l) => l.isUp).length });
      const admin = await listenAdminPort({ listen: cfg.listen, role: "manager", maxLineBytes: cfg.maxLineBytes, log, stats });
      const heartbeat = startHeartbeat({ redis, keys, log }, { role: "manager", id: cfg.id, addr: cfg.listen, version: VERSION }, cfg, stats);
      log.info({ listen: cfg.listen, store: store.kind }, "manager started");
      return {
        async close() {
          await heartbeat.stop();
          links.stop();
          await admin.close();
          await store.close();
          redis.disconnect();
        },
      };
    },
  },
  process.argv,
);
