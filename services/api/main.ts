#!/usr/bin/env node
import type { Server } from "node:http";
import Router from "@koa/router";
import { runService, VERSION } from "../../shared/cli.js";
import { RegistryPublisher } from "../../shared/bus/process-registry.js";
import { processStats } from "../../shared/process-stats.js";
import { counters } from "../../shared/stats-schema.js";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { enforceExposure } from "../../shared/config/exposure.js";
import { splitHostPort } from "../../shared/config/common.js";
import { createLinkSet, type LinkSet } from "../../shared/net/link-set.js";
import { ClusterClient } from "./cluster.js";
import { apiSchema } from "./config.js";
import { EVENT_CHANNELS, EventSource } from "./events.js";
import { createApp } from "./http.js";
import { messageRoutes } from "./routes-messages.js";
import { topicRoutes } from "./routes-topics.js";
import { userRoutes } from "./routes-users.js";
import { ApiKeys, readSecret } from "./secrets.js";
import { Webhook } from "./webhook.js";

/** Replies of ADMIN_HISTORY carry up to 1 MiB of bodies as JSON in one line: the API's links read lines this long. */
const LINK_MAX_LINE_BYTES = 8 * 1024 * 1024;

void runService(
  {
    name: "api",
    description: "FishChat server API: HTTP + JSON for the app's backend (docs/SERVER-API.md)",
    defaultConf: "conf/api.json",
    schema: apiSchema,
    instanceOf: (cfg) => cfg.id,
    async start(cfg, log) {
      enforceExposure({ listeners: [{ name: "listen", addr: cfg.listen, tls: false, clientFacing: false }], clusterSecret: cfg.clusterSecret }, log);
      // Read before anything starts: a missing key file fails the start (exit 2), not the first request.
      const keys = ApiKeys.load(cfg.keys);
      const bus = openRedisBus(cfg.redis, log, { name: "api" });
      const webhook = cfg.webhook ? new Webhook({ ...cfg.webhook, secret: readSecret(cfg.webhook.secret, "webhook.secret"), log: log.child({ part: "webhook" }) }) : null;
      const events = webhook ? new EventSource(webhook, bus.sessions, log) : null;
      let links: LinkSet | null = null;
      links = createLinkSet({ ...cfg, maxLineBytes: Math.max(cfg.maxLineBytes, LINK_MAX_LINE_BYTES) }, { registry: bus.registry, log }, {
        channels: events ? EVENT_CHANNELS : [],
        onCommand: (l, cmd) => events?.onCommand(l, cmd),
        onUp: (l) => events?.onUp(l),
        onDown: (l) => events?.onDown(l),
      });
      links.start();
      const cluster = new ClusterClient(() => links?.all() ?? [], cfg.requestTimeoutMs);
      const c = counters("api");
      const stats = () => {
        const all = links?.all() ?? [];
        const w = webhook?.counts;
        return {
          ...processStats().read(),
          ...c,
          links: all.length,
          linksUp: all.filter((l) => l.isUp).length,
          webhookDelivered: w?.delivered ?? 0,
          webhookDropped: w?.dropped ?? 0,
          webhookFailedAttempts: w?.failedAttempts ?? 0,
          webhookPending: webhook?.pending ?? 0,
        };
      };

      const open = new Router();
      // For load balancers and supervisors: no key needed, says nothing but whether msg_servers are reachable.
      open.get("/healthz", (ctx) => {
        const up = cluster.linksUp;
        ctx.status = up > 0 ? 200 : 503;
        ctx.body = { ok: up > 0, msgServers: up };
      });
      const routes = [
        messageRoutes(cluster, cfg.maxBodyBytes, () => c.sent++),
        userRoutes({ cluster, directory: bus.sessions, revocations: bus.revocations, revokeForSec: cfg.revokeForSec }),
        topicRoutes(cluster, cfg.maxBodyBytes),
      ];
      const app = createApp(
        { counters: c, keys, requestsPerSec: cfg.rateLimit.requestsPerSec, failedAuthPerMinute: cfg.rateLimit.failedAuthPerMinute, log },
        routes,
        [open],
      );
      app.on("error", (err: Error) => log.debug({ err }, "http connection error"));
      const { host, port } = splitHostPort(cfg.listen);
      const server = await new Promise<Server>((res, rej) => {
        const s = app.listen(port, host, () => res(s));
        s.once("error", rej);
      });
      server.maxConnections = cfg.maxConnections;
      server.headersTimeout = 10_000;
      server.requestTimeout = 30_000;
      // In the registry like every process, so the monitor's dashboard shows it with its stats.
      const heartbeat = new RegistryPublisher(bus.registry, { role: "api", id: cfg.id, addr: cfg.listen, version: VERSION }, cfg, stats, log).start();
      log.info({ listen: cfg.listen, keys: cfg.keys.map((k) => k.name), webhook: cfg.webhook ? new URL(cfg.webhook.url).origin : null }, "api started");
      return {
        async close() {
          await heartbeat.stop();
          webhook?.stop();
          links?.stop();
          await new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          });
          await bus.close();
        },
      };
    },
  },
  process.argv,
);
