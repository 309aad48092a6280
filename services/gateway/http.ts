import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { splitHostPort } from "../../shared/config/common.js";
import { ErrorCode } from "../../shared/errors.js";
import type { Logger } from "../../shared/log/logger.js";
import type { Counters } from "../../shared/stats-schema.js";
import type { Balancer, Endpoint } from "./balancer.js";
import type { GatewayHttpConfig } from "./config.js";

export interface GatewayHttpDeps {
  cfg: GatewayHttpConfig;
  balancer: Pick<Balancer, "pickEndpoint">;
  /** The gateway's counters: an endpoint request counts as a REQ_MSG_SERVER. */
  counters: Counters<"gateway">;
  log: Logger;
}

export interface GatewayHttp {
  /** The port bound (differs from the configured one when that was 0). */
  readonly port: number;
  close(): Promise<void>;
}

/** The JSON body of `GET /v1/endpoint`. */
export interface EndpointBody {
  ws: string | null;
  tcp: string;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(json), "Cache-Control": "no-store" }).end(json);
}

function error(res: ServerResponse, status: number, code: ErrorCode, message: string): void {
  send(res, status, { error: { code, message } });
}

/**
 * CORS for one request: the origin echoed when it is allowed ("*" allows any). A request without
 * Origin is not from a page and needs no header; an Origin that is not allowed is refused with 403
 * rather than answered without the header, so the reason is visible in the browser's console.
 */
function cors(req: IncomingMessage, res: ServerResponse, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  res.setHeader("Vary", "Origin");
  if (origin === undefined) return true;
  if (!allowed.includes("*") && !allowed.includes(origin)) return false;
  res.setHeader("Access-Control-Allow-Origin", allowed.includes("*") ? "*" : origin);
  return true;
}

/**
 * The gateway's HTTP side for browsers. `GET /v1/endpoint` hands out the least-loaded live
 * msg_server with a WebSocket listener, through the same Balancer pick as REQ_MSG_SERVER:
 * `{"ws": "ws://host:port/path", "tcp": "host:port"}`. `?transport=tcp` considers every live
 * msg_server (then `ws` may be null). None: 503 `{"error": {"code": "IM_ERR_NO_MSG_SERVER", ...}}`.
 */
export async function startGatewayHttp(d: GatewayHttpDeps): Promise<GatewayHttp> {
  const { cfg, balancer, counters, log } = d;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    if (!cors(req, res, cfg.allowedOrigins)) return error(res, 403, ErrorCode.IM_ERR_FORBIDDEN, "origin not allowed: add it to http.allowedOrigins in the gateway's conf");
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname !== "/v1/endpoint") return error(res, 404, ErrorCode.IM_ERR_UNKNOWN_COMMAND, "no such resource; GET /v1/endpoint");
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "Access-Control-Allow-Methods": "GET", "Access-Control-Max-Age": "600" }).end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("Allow", "GET");
      return error(res, 405, ErrorCode.IM_ERR_BAD_ARGS, "method not allowed; GET /v1/endpoint");
    }
    const transport = url.searchParams.get("transport") ?? "ws";
    if (transport !== "ws" && transport !== "tcp") return error(res, 400, ErrorCode.IM_ERR_BAD_ARGS, 'transport must be "ws" or "tcp"');
    counters.requests++;
    const picked: Endpoint | null = balancer.pickEndpoint(transport === "ws" ? { ws: true } : {});
    if (!picked) {
      counters.noServer++;
      return error(res, 503, ErrorCode.IM_ERR_NO_MSG_SERVER, transport === "ws" ? "no live msg_server with a WebSocket listener; try again later" : "no live msg_server; try again later");
    }
    counters.handedOut++;
    send(res, 200, { ws: picked.ws, tcp: picked.addr } satisfies EndpointBody);
  };
  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      log.warn({ err }, "gateway http request failed");
      if (!res.headersSent) error(res, 500, ErrorCode.IM_ERR_INTERNAL, "internal error");
    }
  });
  server.headersTimeout = cfg.requestTimeoutMs;
  server.requestTimeout = cfg.requestTimeoutMs;
  server.keepAliveTimeout = 5000;
  server.maxConnections = cfg.maxConnections;
  server.on("clientError", (_err, socket) => socket.destroy());
  // Upgrades are not served here: WebSockets go to the msg_server it names.
  server.on("upgrade", (_req, socket) => socket.destroy());
  const { host, port } = splitHostPort(cfg.listen);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  server.on("error", (err) => log.warn({ err }, "gateway http listener error"));
  const bound = server.address();
  return {
    port: typeof bound === "object" && bound ? bound.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
