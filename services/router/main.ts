#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { createRedis } from "../../shared/bus/redis.js";
import { redisKeys } from "../../shared/bus/keys.js";
import { startHeartbeat } from "../../shared/bus/registry.js";
import { SessionRegistry } from "../../shared/bus/session-registry.js";
import { createLinkSet } from "../../shared/net/link-set.js";
import { listenAdminPort } from "../../shared/net/admin-port.js";
import { routerSchema } from "./config.js";
import { LocationCache } from "./locations.js";
import { Router } from "./router.js";

void runService(
  {
    name: "router",
    description: "FishChat router: forwards p2p and topic messages between msg_servers",
    defaultConf: "conf/router.json",
    schema: routerSchema,
    instanceOf: (cfg) => cfg.id,
    async start(cfg, log) {
      const keys = redisKeys(cfg.redis.keyPrefix);
      const redis = createRedis(cfg.redis, log, "router");
      // The session TTL is irrelevant here: the router only reads the table.
      const locations = new LocationCache(new SessionRegistry(redis, keys, 60_000), cfg.locationCacheMax);
      const router = new Router(log, locations);
      const links = createLinkSet(cfg, { redis, keys, log }, {
        channels: Router.channels,
        onCommand: (l, cmd) => router.onCommand(l, cmd),
        onUp: (l) => router.onLinkUp(l),
        onDown: (l) => router.onLinkDown(l),
      });
      router.attach(links);
      links.start();
      const admin = await listenAdminPort({ listen: cfg.listen, role: "router", maxLineBytes: cfg.maxLineBytes, log, stats: () => router.stats() });
      const heartbeat = startHeartbeat({ redis, keys, log }, { role: "router", id: cfg.id, addr: cfg.listen, version: VERSION }, cfg, () => router.stats());
      log.info({ listen: cfg.listen, seeds: cfg.msgServerList }, "router started");
      return {
        async close() {
          await heartbeat.stop();
          links.stop();
          await admin.close();
          redis.disconnect();
        },
      };
    },
  },
  process.argv,
);
