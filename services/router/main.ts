#!/usr/bin/env node
import { startTraceFromEnv } from "../../shared/trace/from-env.js";
import { runService, VERSION } from "../../shared/cli.js";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { RegistryPublisher } from "../../shared/bus/process-registry.js";
import { createLinkSet, type LinkSet } from "../../shared/net/link-set.js";
import { listenServicePort } from "../../shared/net/service-port.js";
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
      const bus = openRedisBus(cfg.redis, log, { name: "router" });
      // Opt-in (FISHCHAT_TRACE_FILE): GC pauses and loop lag; nothing runs without it.
      const trace = startTraceFromEnv("router", log);
      const locations = new LocationCache(bus.sessions, cfg.locationCacheMax);
      // The router and its links refer to each other: the links deliver to the router, the router sends on the links.
      let links: LinkSet | null = null;
      const router = new Router(log, locations, { get: (a) => links?.get(a), all: () => links?.all() ?? [] });
      links = createLinkSet(cfg, { registry: bus.registry, log }, {
        channels: Router.channels,
        onCommand: (l, cmd) => router.onCommand(l, cmd),
        onUp: (l) => router.onLinkUp(l),
        onDown: (l) => router.onLinkDown(l),
      });
      links.start();
      const admin = await listenServicePort({ listen: cfg.listen, role: "router", id: cfg.id, maxLineBytes: cfg.maxLineBytes, log, stats: () => router.stats() });
      const heartbeat = new RegistryPublisher(bus.registry, { role: "router", id: cfg.id, addr: cfg.listen, version: VERSION }, cfg, () => router.stats(), log).start();
      log.info({ listen: cfg.listen, seeds: cfg.msgServerList }, "router started");
      return {
        async close() {
          await heartbeat.stop();
          links?.stop();
          await admin.close();
          await bus.close();
          trace?.stop();
        },
      };
    },
  },
  process.argv,
);
