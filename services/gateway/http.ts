import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { splitHostPort } from "../../shared/config/common.js";
import { ErrorCode } from "../../shared/errors.js";
import type { Logger } from "../../shared/log/logger.js";
import type { Counters } from "../../shared/stats-schema.js";
import type { Balancer, Endpoint } from "./balancer.js";
import type { GatewayHttpConfig } from "./config.js";
import { hostPolicy, type HostPolicy } from "../monitor/host-check.js";
import { chatPage } from "./chat-page.js";
import { HttpError, openDevLogin } from "./dev-login.js";

export interface GatewayHttpDeps {
  cfg: GatewayHttpConfig;
  /** Where the chat page's built files are (tests); default services/chat-ui/dist. */
  chatUiDir?: string;
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

/** The JSON body of `GET /v1/chat-config`: what the chat page offers for signing in. */
export interface ChatConfigBody {
  devLogin: boolean;
  embedOrigins: string[];
}

/** The JSON body of `POST /v1/dev-login`; `endpoint` is null when no msg_server with a WebSocket is live. */
export interface DevLoginBody {
  id: string;
  token: string;
  exp: number;
  endpoint: EndpointBody | null;
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
 * The gateway's own origin (the chat page it serves) is always allowed and needs no header.
 */
function cors(req: IncomingMessage, res: ServerResponse, allowed: readonly string[], own: HostPolicy): boolean {
  const origin = req.headers.origin;
  res.setHeader("Vary", "Origin");
  if (origin === undefined) return true;
  if (own.allowsHost(req.headers.host) && own.allowsOrigin(origin)) return true;
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
  let boundPort = 0;
  // The names this listener answers to: its own pages' Origin, and the DNS-rebinding check of dev-login.
  const own = hostPolicy({ bindHost: splitHostPort(cfg.listen).host, port: () => boundPort });
  const page = cfg.chatPage ? chatPage({ dir: d.chatUiDir, embedOrigins: cfg.embedOrigins }) : null;
  const devLogin = cfg.devLogin ? await openDevLogin(cfg.devLogin) : null;
  if (devLogin) log.warn({ kid: cfg.devLogin?.key.kid }, "http.devLogin is on: POST /v1/dev-login mints a token for any id (development only)");
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader("X-Content-Type-Options", "nosniff");
    if (!cors(req, res, cfg.allowedOrigins, own)) return error(res, 403, ErrorCode.IM_ERR_FORBIDDEN, "origin not allowed: add it to http.allowedOrigins in the gateway's conf");
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname === "/v1/dev-login") return handleDevLogin(req, res);
    if (url.pathname === "/v1/chat-config") return send(res, 200, { devLogin: devLogin !== null, embedOrigins: cfg.embedOrigins } satisfies ChatConfigBody);
    if (page && (await page.serve(url.pathname, req.method ?? "GET", res))) return;
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
  /** POST /v1/dev-login {"id"}: a token for that id and an endpoint to use it on (development only). */
  const handleDevLogin = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type", "Access-Control-Max-Age": "600" }).end();
      return;
    }
    if (!devLogin) return error(res, 403, ErrorCode.IM_ERR_FORBIDDEN, "development login is off: sign in with a token from your app (set http.devLogin in the gateway's conf for development only)");
    if (req.method !== "POST") {
      res.setHeader("Allow", "POST");
      return error(res, 405, ErrorCode.IM_ERR_BAD_ARGS, 'method not allowed; POST /v1/dev-login {"id": "<client id>"}');
    }
    // A page that rebinds its own name to 127.0.0.1 must not get tokens: only this gateway's names.
    if (!own.allowsHost(req.headers.host)) return error(res, 421, ErrorCode.IM_ERR_FORBIDDEN, "this gateway does not answer dev-login for that host name; open it as 127.0.0.1 or localhost");
    try {
      const minted = await devLogin.mint(req);
      const picked = balancer.pickEndpoint({ ws: true });
      log.info({ client: minted.id }, "dev-login token minted");
      send(res, 200, { ...minted, endpoint: picked ? { ws: picked.ws, tcp: picked.addr } : null } satisfies DevLoginBody);
    } catch (err) {
      if (err instanceof HttpError) return error(res, err.status, err.code, err.message);
      throw err;
    }
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.warn({ err }, "gateway http request failed");
      if (!res.headersSent) error(res, 500, ErrorCode.IM_ERR_INTERNAL, "internal error");
      else res.destroy();
    });
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
  boundPort = typeof bound === "object" && bound ? bound.port : port;
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
