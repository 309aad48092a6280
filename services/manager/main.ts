#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { RegistryPublisher } from "../../shared/bus/process-registry.js";
import { createLinkSet } from "../../shared/net/link-set.js";
import { listenServicePort } from "../../shared/net/service-port.js";
import { openStore } from "../../shared/store/open-store.js";
import { processStats } from "../../shared/process-stats.js";
import { managerSchema } from "./config.js";
import { Manager } from "./manager.js";
import { RetentionJob } from "./retention.js";

void runService(
  {
    name: "manager",
    description: "FishChat manager: v1 Redis cache and client records in the store",
    defaultConf: "conf/manager.json",
    schema: managerSchema,
    instanceOf: (cfg) => cfg.id,
    async start(cfg, log) {
      const bus = openRedisBus(cfg.redis, log, { name: "manager" });
      const store = await openStore(cfg.store, log);
      const manager = new Manager(cfg, log, bus.v1, store);
      const retention = new RetentionJob(cfg.retention, store, log);
      retention.start();
      const links = createLinkSet(cfg, { registry: bus.registry, log }, {
        channels: Manager.channels,
        onCommand: (l, cmd) => manager.onCommand(l, cmd),
        onUp: (l) => manager.onLinkUp(l),
        onDown: (l) => manager.onLinkDown(l, cfg.registryTtlMs + 2000, () => !l.isUp),
      });
      links.start();
      const stats = () => ({ ...processStats().read(), ...manager.counters, ...retention.counters, links: links.all().length, linksUp: links.all().filter((l) => l.isUp).length });
      const admin = await listenServicePort({ listen: cfg.listen, role: "manager", id: cfg.id, maxLineBytes: cfg.maxLineBytes, log, stats });
      const heartbeat = new RegistryPublisher(bus.registry, { role: "manager", id: cfg.id, addr: cfg.listen, version: VERSION }, cfg, stats, log).start();
      log.info({ listen: cfg.listen, store: store.kind }, "manager started");
      return {
        async close() {
          await heartbeat.stop();
          retention.stop();
          links.stop();
          await admin.close();
          await store.close();
          await bus.close();
        },
      };
    },
  },
  process.argv,
);
