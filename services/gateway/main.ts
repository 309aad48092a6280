#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { createRedis } from "../../shared/bus/redis.js";
import { redisKeys } from "../../shared/bus/keys.js";
import { startHeartbeat } from "../../shared/bus/registry.js";
import { listenTcp } from "../../shared/net/tcp-server.js";
import { gatewaySchema } from "./config.js";
import { Balancer } from "./balancer.js";
import { Gateway } from "./gateway.js";

void runService(
  {
    name: "gateway",
    description: "FishChat gateway: hands each client the least-loaded live msg_server",
    defaultConf: "conf/gateway.json",
    schema: gatewaySchema,
    instanceOf: (cfg) => cfg.listen,
    async start(cfg, log) {
      const keys = redisKeys(cfg.redis.keyPrefix);
      const redis = createRedis(cfg.redis, log, "gateway");
      const balancer = new Balancer(redis, keys, cfg.msgServerList, cfg.registryRefreshMs, log);
      await balancer.start();
      const gateway = new Gateway(cfg, log, balancer);
      gateway.start();
      const server = await listenTcp(cfg.listen, (s) => gateway.handleSocket(s));
      const heartbeat = startHeartbeat({ redis, keys, log }, { role: "gateway", id: cfg.listen, addr: cfg.listen, version: VERSION }, cfg, () => gateway.stats());
      log.info({ listen: cfg.listen }, "gateway listening");
      return {
        async close() {
          await heartbeat.stop();
          balancer.stop();
          gateway.close();
          await server.close();
          redis.disconnect();
        },
      };
    },
  },
  process.argv,
);
