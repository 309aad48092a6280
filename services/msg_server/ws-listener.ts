import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { splitHostPort } from "../../shared/config/common.js";
import type { Logger } from "../../shared/log/logger.js";
import { tlsServerOptions } from "../../shared/net/tls-config.js";
import { WsTransport } from "../../shared/net/ws-transport.js";
import type { WsListenerConfig } from "./config.js";

export interface WsListenerOptions {
  cfg: WsListenerConfig;
  /** Largest message accepted (the connection's maxLineBytes); ws closes with 1009 beyond it. */
  maxPayloadBytes: number;
  /** The msg_server's idle timeout: pings go out at least twice within it. */
  idleTimeoutMs: number;
  /** Host of the default advertised URL (the advertiseAddr's). */
  advertiseHost: string;
  log: Logger;
  /** Each accepted WebSocket, as a transport for the core (core.handleTransport(t, JSON_DIALECT)). */
  onTransport(transport: WsTransport): void;
  /**
   * Plain HTTP requests (the file endpoints, files-http.ts): true when taken; the rest get 426.
   * With it, a request body may take up to `httpRequestTimeoutMs` (uploads) instead of the
   * handshake timeout; headers must still arrive within the handshake timeout.
   */
  onHttp?: (req: IncomingMessage, res: ServerResponse) => boolean;
  httpRequestTimeoutMs?: number;
}

export interface WsListener {
  /** The URL clients are given: advertiseUrl, or ws(s)://advertiseHost:port/path. */
  readonly url: string;
  /** The HTTP origin of the same listener, for its plain HTTP resources: http(s)://host:port (from `url`). */
  readonly httpOrigin: string;
  /** The port bound (differs from the configured one when that was 0). */
  readonly port: number;
  /** WebSocket connections open now. */
  readonly connections: number;
  /** Stop listening and drop every WebSocket still open (the core closed them gracefully first). */
  close(): Promise<void>;
}

/** Distinct refused origins logged; later ones are refused silently. */
const MAX_LOGGED_ORIGINS = 100;

/** Whether a browser page from `origin` may connect; no Origin header means no browser page. */
export function originAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  return allowed.includes("*") || allowed.includes(origin);
}

/** Refuse an upgrade with a plain HTTP response and drop the socket. */
function refuse(socket: Duplex, status: number, text: string): void {
  const body = `${text}\n`;
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), 1000).unref();
}

/**
 * The msg_server's WebSocket port: an HTTP(S) server whose only resource is the upgrade at
 * `path`. Checks the Origin and the connection bound before the handshake, hands each socket to
 * the core as a WsTransport, and pings every client periodically so a dead peer (no pong) runs
 * into the idle timeout. No per-message work happens here.
 */
export async function listenWs(o: WsListenerOptions): Promise<WsListener> {
  const { cfg, log } = o;
  const live = new Map<WebSocket, WsTransport>();
  const refusedOrigins = new Set<string>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.maxPayloadBytes, perMessageDeflate: false, clientTracking: false });
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (o.onHttp?.(req, res)) return;
    res.writeHead(426, { "Content-Type": "text/plain", Upgrade: "websocket", Connection: "close" }).end(`WebSocket only: connect to ${cfg.path}\n`);
  };
  const server: Server = cfg.tls ? createHttpsServer(tlsServerOptions(cfg.tls, "ws.tls"), onRequest) : createHttpServer(onRequest);
  server.headersTimeout = cfg.handshakeTimeoutMs;
  server.requestTimeout = o.onHttp ? Math.max(cfg.handshakeTimeoutMs, o.httpRequestTimeoutMs ?? 0) : cfg.handshakeTimeoutMs;
  server.on("clientError", (_err, socket) => socket.destroy());
  server.on("tlsClientError", (_err: Error, socket: Duplex) => socket.destroy());
  server.on("error", (err) => log.warn({ err }, "ws listener error"));
  if (cfg.allowedOrigins.length === 0) log.info("ws.allowedOrigins is empty: browser pages are refused (403), apps without an Origin header are accepted");

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => undefined);
    const path = (req.url ?? "").split("?")[0];
    if (path !== cfg.path) return refuse(socket, 404, "Not Found");
    if (!originAllowed(req.headers.origin, cfg.allowedOrigins)) {
      // Once per origin (bounded): enough to find a missing entry, no flood from a hostile page.
      const origin = (req.headers.origin ?? "").slice(0, 200);
      if (refusedOrigins.size < MAX_LOGGED_ORIGINS && !refusedOrigins.has(origin)) {
        refusedOrigins.add(origin);
        log.info({ origin }, "ws upgrade refused: origin not in ws.allowedOrigins");
      }
      return refuse(socket, 403, "Forbidden");
    }
    if (live.size >= cfg.maxConnections) return refuse(socket, 503, "Service Unavailable");
    wss.handleUpgrade(req, socket, head, (ws) => {
      const t = new WsTransport(ws, req.socket as Socket);
      live.set(ws, t);
      ws.once("close", () => live.delete(ws));
      o.onTransport(t);
    });
  });

  const { host, port } = splitHostPort(cfg.listen);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound ? bound.port : port;
  const urlHost = o.advertiseHost.includes(":") ? `[${o.advertiseHost}]` : o.advertiseHost;
  const url = cfg.advertiseUrl ?? `${cfg.tls ? "wss" : "ws"}://${urlHost}:${boundPort}${cfg.path}`;

  const pingEveryMs = Math.max(100, Math.min(cfg.pingIntervalMs, Math.floor(o.idleTimeoutMs / 2)));
  const pinger = setInterval(() => {
    for (const t of live.values()) t.ping();
  }, pingEveryMs);
  pinger.unref();

  const parsed = new URL(url);
  const httpOrigin = `${parsed.protocol === "wss:" ? "https:" : "http:"}//${parsed.host}`;
  return {
    url,
    httpOrigin,
    port: boundPort,
    get connections() {
      return live.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(pinger);
        for (const ws of live.keys()) ws.terminate();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
