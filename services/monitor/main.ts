#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { enforceExposure } from "../../shared/config/exposure.js";
import { RegistryPublisher } from "../../shared/bus/process-registry.js";
import { Channel } from "../../shared/protocol/commands.js";
import { createLinkSet } from "../../shared/net/link-set.js";
import { listenServicePort } from "../../shared/net/service-port.js";
import { processStats } from "../../shared/process-stats.js";
import { monitorSchema } from "./config.js";
import { Collector } from "./collector.js";
import { MonitorMetrics } from "./metrics.js";
import { startHttp } from "./http.js";
import { RedisHealth } from "./redis-health.js";

void runService(
  {
    name: "monitor",
    description: "FishChat monitor: cluster health, stats and the web dashboard",
    defaultConf: "conf/monitor.json",
    schema: monitorSchema,
    instanceOf: (cfg) => cfg.id,
    async start(cfg, log) {
      const hostPort = (host: string, port: number) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
      // Before anything connects or listens: an open API beyond loopback exits 2 with the reason.
      enforceExposure(
        {
          listeners: [{ name: "listen", addr: cfg.listen }],
          clusterSecret: cfg.clusterSecret,
          monitorHttp: { addr: hostPort(cfg.http.host, cfg.http.port), token: cfg.http.token, username: cfg.http.username, password: cfg.http.password },
        },
        log,
      );
      const bus = openRedisBus(cfg.redis, log, { name: "monitor" });
      const redisHealth = new RedisHealth(cfg.redis, cfg.sampleMs, log);
      // The collector reads the links at every sample; it starts sampling only once they exist.
      const collector = new Collector({
        cfg,
        registry: bus.registry,
        redis: redisHealth,
        log,
        links: () => links.all().map((l) => ({ addr: l.addr, up: l.isUp, connects: l.connects })),
      });
      const links = createLinkSet(cfg, { registry: bus.registry, log }, {
        channels: [Channel.MONITOR],
        onCommand: (l, cmd) => collector.onCommand(l, cmd),
        // A link drop is the first sign of a dead msg_server: sample now rather than at the next tick.
        onDown: () => void collector.sample(),
      });
      links.start();
      const metrics = new MonitorMetrics();
      const http = await startHttp({ cfg, collector, metrics, log });
      collector.start();
      const stats = () => ({
        ...processStats().read(),
        links: links.all().length,
        linksUp: links.all().filter((l) => l.isUp).length,
        processes: collector.overview.totals.processes,
        processesUp: collector.overview.totals.processesUp,
      });
      const admin = await listenServicePort({ listen: cfg.listen, role: "monitor", id: cfg.id, maxLineBytes: cfg.maxLineBytes, log, stats });
      const heartbeat = new RegistryPublisher(bus.registry, { role: "monitor", id: cfg.id, addr: hostPort(cfg.http.host, http.port), version: VERSION }, cfg, stats, log).start();
      log.info({ listen: cfg.listen, http: `http://${hostPort(cfg.http.host, http.port)}/` }, "monitor started");
      return {
        async close() {
          await heartbeat.stop();
          collector.stop();
          links.stop();
          await admin.close();
          await http.close();
          redisHealth.close();
          await bus.close();
        },
      };
    },
  },
  process.argv,
);
