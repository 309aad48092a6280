import { existsSync } from "node:fs";
import type { Server } from "node:http";
import { resolve } from "node:path";
import Koa from "koa";
import Router from "@koa/router";
import serve from "koa-static";
import type { Logger } from "../../shared/log/logger.js";
import type { HistoryResponse, ProcessDetail, TickEvent } from "./api-types.js";
import type { MonitorConfig } from "./config.js";
import type { Collector } from "./collector.js";
import { access } from "./auth.js";
import { hostGuard, hostPolicy } from "./host-check.js";
import type { MonitorMetrics } from "./metrics.js";
import { SseHub } from "./sse.js";

/** Built by scripts/build-ui.mjs; this file runs as dist/services/monitor/http.js. */
export const DEFAULT_UI_DIR = resolve(import.meta.dirname, "../../../monitor-ui/dist");

/** The page only talks to its own origin and loads nothing from anywhere else (it must work offline). */
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export interface HttpDeps {
  cfg: Pick<MonitorConfig, "http">;
  collector: Collector;
  metrics: MonitorMetrics;
  log: Logger;
  uiDir?: string;
}

export interface HttpHandle {
  server: Server;
  /** The bound port (differs from the configured one when that is 0). */
  port: number;
  close(): Promise<void>;
}

function sinceOf(v: unknown): number {
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The monitor's web side on port 30000: JSON API, event stream, /metrics and the dashboard. */
export async function startHttp(d: HttpDeps): Promise<HttpHandle> {
  const { cfg, collector, metrics, log } = d;
  const uiDir = d.uiDir ?? DEFAULT_UI_DIR;
  const guard = access(cfg.http);
  const sse = new SseHub(cfg.http.maxStreams, log);
  const unsubscribe = collector.onTick((overview, point) => {
    metrics.update(overview);
    sse.broadcast("tick", { overview, point } satisfies TickEvent);
  });

  // (main.ts has refused to start with a non-loopback host and no credentials.)
  let boundPort = cfg.http.port;
  const hosts = hostPolicy({ bindHost: cfg.http.host, port: () => boundPort, allowedHosts: cfg.http.allowedHosts });

  const app = new Koa();
  app.on("error", (err: Error) => log.warn({ err }, "http request failed"));
  app.use(async (ctx, next) => {
    ctx.set("X-Content-Type-Options", "nosniff");
    ctx.set("Referrer-Policy", "no-referrer");
    await next();
  });
  app.use(hostGuard(hosts, log));

  const open = new Router();
  open.get("/healthz", (ctx) => {
    ctx.body = { ok: true };
  });

  const api = new Router();
  api.use(guard.data);
  api.get("/metrics", async (ctx) => {
    ctx.set("Content-Type", metrics.contentType);
    ctx.body = await metrics.metrics();
  });
  api.get("/api/overview", (ctx) => {
    ctx.set("Cache-Control", "no-store");
    ctx.body = collector.overview;
  });
  api.get("/api/history", (ctx) => {
    const since = sinceOf(ctx.query.since);
    const scope = typeof ctx.query.scope === "string" ? ctx.query.scope : "";
    const h = collector.history;
    ctx.set("Cache-Control", "no-store");
    if (scope === "cluster") ctx.body = h.clusterSeries(since);
    else if (scope !== "") {
      const s = h.serverSeries(scope, since);
      if (!s) return ctx.throw(404, `no history for msg_server ${scope}`);
      ctx.body = s;
    } else {
      const servers: HistoryResponse["servers"] = {};
      for (const id of h.serverIds()) servers[id] = h.serverSeries(id, since)!;
      ctx.body = { sampleMs: h.sampleMs, cluster: h.clusterSeries(since), servers } satisfies HistoryResponse;
    }
  });
  api.get("/api/processes/:role/:id", (ctx) => {
    const key = `${ctx.params.role}:${ctx.params.id}`;
    const p = collector.overview.processes.find((x) => x.key === key);
    if (!p) return ctx.throw(404, `unknown process ${key}`);
    const history = p.role === "msg_server" ? collector.history.serverSeries(p.id, sinceOf(ctx.query.since)) : null;
    ctx.set("Cache-Control", "no-store");
    ctx.body = { process: p, history } satisfies ProcessDetail;
  });
  api.get("/api/events", (ctx) => {
    const o = collector.overview;
    // No point yet: the first tick event brings one; the overview lets the page draw at once.
    sse.open(ctx, { event: "overview", data: o });
  });

  app.use(open.routes());
  app.use(api.routes()).use(api.allowedMethods());
  app.use(async (ctx, next) => {
    if (ctx.path.startsWith("/api/")) ctx.throw(404, "no such API endpoint");
    await next();
  });
  app.use(guard.page);
  app.use(async (ctx, next) => {
    ctx.set("Content-Security-Policy", PAGE_CSP);
    await next();
  });
  if (existsSync(uiDir)) {
    // Not fingerprinted file names: always revalidate (cheap, ETag/Last-Modified) so a rebuild shows at once.
    app.use(serve(uiDir, { index: "index.html", setHeaders: (res) => res.setHeader("Cache-Control", "no-cache") }));
  } else {
    log.warn({ uiDir }, "dashboard not built; serving the API only (run npm run build)");
    app.use((ctx) => {
      if (ctx.path !== "/") return;
      ctx.status = 503;
      ctx.type = "text/plain";
      ctx.body = `The FishChat dashboard is not built (${uiDir} is missing). Run: npm run build\nThe API is up: /api/overview, /api/events, /metrics\n`;
    });
  }

  const server = await new Promise<Server>((res, rej) => {
    const s = app.listen(cfg.http.port, cfg.http.host, () => res(s));
    s.once("error", rej);
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : cfg.http.port;
  boundPort = port;
  log.debug({ allowedHosts: hosts.names, port }, "monitor HTTP answers to these host names");
  return {
    server,
    port,
    async close() {
      unsubscribe();
      // Open streams would keep server.close() waiting forever.
      sse.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}
