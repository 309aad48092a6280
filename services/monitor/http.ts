import type { Server } from "node:http";
import Koa from "koa";
import Router from "@koa/router";
import type { MonitorConfig } from "./config.js";
import type { Collector } from "./collector.js";

/** The monitor's HTTP API on port 30000. */
export async function startHttp(cfg: MonitorConfig, collector: Collector): Promise<Server> {
  const app = new Koa();
  const router = new Router();
  router.get("/api/overview", (ctx) => {
    ctx.body = {
      now: Date.now(),
      registryError: collector.registryError,
      processes: collector.registry.map((e) => ({ ...e.info, alive: e.alive })),
      beats: [...collector.beats.values()],
    };
  });
  app.use(router.routes()).use(router.allowedMethods());
  return await new Promise<Server>((resolve, reject) => {
    const server = app.listen(cfg.http.port, cfg.http.host, () => resolve(server));
    server.once("error", reject);
  });
}
