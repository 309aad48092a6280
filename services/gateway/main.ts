#!/usr/bin/env node
import { runService, VERSION } from "../../shared/cli.js";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { startTraceFromEnv } from "../../shared/trace/from-env.js";
import { RegistryPublisher } from "../../shared/bus/process-registry.js";
import { gatewaySchema } from "./config.js";
import { Balancer } from "./balancer.js";
import { Gateway } from "./gateway.js";
import { startGatewayHttp } from "./http.js";
import { enforceExposure } from "../../shared/config/exposure.js";

void runService(
  {
    name: "gateway",
    description: "FishChat gateway: hands each client the least-loaded live msg_server",
    defaultConf: "conf/gateway.json",
    schema: gatewaySchema,
    instanceOf: (cfg) => cfg.listen,
    async start(cfg, log) {
      const listeners = [
        { name: "listen", addr: cfg.listen, tls: cfg.tlsListen ? undefined : false },
        ...(cfg.tlsListen ? [{ name: "tlsListen", addr: cfg.tlsListen, tls: true }] : []),
        ...(cfg.http ? [{ name: "http.listen", addr: cfg.http.listen }] : []),
      ];
      enforceExposure({ listeners, clusterSecret: cfg.clusterSecret, devLogin: cfg.http?.devLogin ? { addr: cfg.http.listen } : undefined }, log);
      const bus = openRedisBus(cfg.redis, log, { name: "gateway" });
      // Opt-in (FISHCHAT_TRACE_FILE): GC pauses and loop lag; nothing runs without it.
      const trace = startTraceFromEnv("gateway", log);
      // Two missed heartbeats (the cluster's heartbeatMs) and a refresh: gone, whatever its TTL says.
      const balancer = new Balancer(bus.registry, cfg.msgServerList, cfg.registryRefreshMs, log, 2 * cfg.heartbeatMs + cfg.registryRefreshMs);
      await balancer.start();
      const gateway = new Gateway(cfg, log, balancer);
      await gateway.listen();
      // Browsers: GET /v1/endpoint, the HTTP form of REQ_MSG_SERVER.
      const http = cfg.http ? await startGatewayHttp({ cfg: cfg.http, balancer, counters: gateway.counters, log }) : null;
      const heartbeat = new RegistryPublisher(bus.registry, { role: "gateway", id: cfg.listen, addr: cfg.listen, version: VERSION }, cfg, () => gateway.stats(), log).start();
      log.info({ listen: cfg.listen, http: cfg.http?.listen }, "gateway listening");
      return {
        async close() {
          await heartbeat.stop();
          balancer.stop();
          await gateway.close();
          await http?.close();
          await bus.close();
          trace?.stop();
        },
      };
    },
  },
  process.argv,
);
