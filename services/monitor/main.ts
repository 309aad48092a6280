#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { createRedis } from "../../shared/bus/redis.js";
import { redisKeys } from "../../shared/bus/keys.js";
import { RegistryPublisher } from "../../shared/bus/registry.js";
import { Channel } from "../../shared/protocol/commands.js";
import { Link } from "../../shared/net/link.js";
import { LinkSet } from "../../shared/net/link-set.js";
import { listenAdminPort } from "../../shared/net/admin-port.js";
import { monitorSchema } from "./config.js";
import { Collector } from "./collector.js";
import { startHttp } from "./http.js";

void runService(
  {
    name: "monitor",
    description: "FishChat monitor: cluster health, stats and the web dashboard",
    defaultConf: "conf/monitor.json",
    schema: monitorSchema,
    instanceOf: (cfg) => cfg.id,
    async start(cfg, log) {
      const keys = redisKeys(cfg.redis.keyPrefix);
      const redis = createRedis(cfg.redis, log, "monitor");
      const collector = new Collector(redis, keys, cfg.sampleMs, log);
      const limits = { maxLineBytes: cfg.maxLineBytes, maxFrameBytes: cfg.maxLineBytes };
      const links = new LinkSet({
        redis,
        keys,
        seeds: cfg.msgServerList,
        discoveryMs: cfg.discoveryMs,
        log,
        makeLink: (addr) =>
          new Link({
            addr,
            log,
            limits,
            secret: cfg.clusterSecret,
            channels: [Channel.MONITOR],
            subscriberId: cfg.id,
            reconnectMinMs: cfg.reconnectMinMs,
            reconnectMaxMs: cfg.reconnectMaxMs,
            onCommand: (l, cmd) => collector.onCommand(l, cmd),
          }),
      });
      links.start();
      collector.start();
      const http = await startHttp(cfg, collector);
      const stats = () => ({ links: links.all().length, linksUp: links.all().filter((l) => l.isUp).length, beats: collector.beats.size });
      const admin = await listenAdminPort({ listen: cfg.listen, role: "monitor", maxLineBytes: cfg.maxLineBytes, log, stats });
      const heartbeat = new RegistryPublisher(
        redis,
        keys,
        { role: "monitor", id: cfg.id, addr: `${cfg.http.host}:${cfg.http.port}`, pid: process.pid, version: VERSION, startedAt: Date.now() },
        cfg.heartbeatMs,
        cfg.registryTtlMs,
        stats,
        log,
      );
      heartbeat.start();
      log.info({ listen: cfg.listen, http: `http://${cfg.http.host}:${cfg.http.port}` }, "monitor started");
      return {
        async close() {
          await heartbeat.stop();
          links.stop();
          collector.stop();
          await admin.close();
          await new Promise<void>((r) => http.close(() => r()));
          http.closeAllConnections?.();
          redis.disconnect();
        },
      };
    },
  },
  process.argv,
);
