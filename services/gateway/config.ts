import { z } from "zod";
import { commonKeys, hostPort, positiveMs } from "../../shared/config/common.js";
import { tlsServerSchema } from "../../shared/net/tls-config.js";
import { tokenKeySchema } from "../../shared/auth/config.js";

/**
 * Development only: `POST /v1/dev-login {"id"}` mints a client token for any id with this key,
 * so the chat page can sign in without an identity provider. Anyone who reaches it can act as
 * anyone: the gateway refuses to start with it on a listener reachable beyond loopback.
 *
 *   "devLogin": { "key": { "kid": "dev", "alg": "HS256", "secretFile": "./data/dev-token.key" } }
 */
export const devLoginSchema = z.strictObject({
  /** A key the msg_servers accept (an entry of their clientAuth.keys, with what signs: a secret or privateKeyFile). */
  key: tokenKeySchema,
  /** Lifetime of a minted token; the page asks for a new one when TOKEN_EXPIRING arrives. */
  tokenTtlSec: z.number().int().min(60).max(7 * 86_400).default(3600),
  /** Set when the msg_servers' clientAuth requires them. */
  issuer: z.string().min(1).optional(),
  audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
});
export type DevLoginConfig = z.output<typeof devLoginSchema>;

/** An origin as a browser writes it: scheme, host, optional port, nothing else. */
const origin = z.string().regex(/^https?:\/\/[^\s/?#]+$/, 'expected an origin such as "https://app.example.com"');

/**
 * The gateway's HTTP listener for browsers: `GET /v1/endpoint` answers what REQ_MSG_SERVER
 * answers, as JSON with the msg_server's WebSocket URL. Off unless the `http` key is present.
 */
export const gatewayHttpSchema = z.strictObject({
  /** Where to listen, "host:port". */
  listen: hostPort.default("127.0.0.1:17080"),
  /** Origins whose pages may read the answer (CORS; exact, e.g. "https://chat.example.com", or "*"). Default: none. */
  allowedOrigins: z.array(z.string().min(1)).default([]),
  /** Concurrent HTTP connections; beyond it new ones are dropped. */
  maxConnections: z.number().int().positive().default(10_000),
  /** A request must arrive complete within this time. */
  requestTimeoutMs: positiveMs.default(10_000),
  /** The browser chat page (built into services/chat-ui/dist by `npm run build`) at `/`. */
  chatPage: z.boolean().default(true),
  /** Origins whose pages may frame the chat page and hand it a token by postMessage (docs/CLIENTS.md). Default: none, the page cannot be framed. */
  embedOrigins: z.array(origin).default([]),
  /** Development only, off when absent: POST /v1/dev-login mints tokens (see devLoginSchema). */
  devLogin: devLoginSchema.optional(),
});
export type GatewayHttpConfig = z.output<typeof gatewayHttpSchema>;

export const gatewaySchema = z.strictObject({
  ...commonKeys,
  listen: hostPort.default("0.0.0.0:17000"),
  /** Seed list (v1 `MsgServerList`): used only while the Redis registry cannot be read, and then only servers that answer a TCP probe. */
  msgServerList: z.array(hostPort).default([]),
  /** How often the live msg_server list is re-read from Redis. */
  registryRefreshMs: positiveMs.default(500),
  /** A connection must ask within this time or is closed. */
  requestTimeoutMs: positiveMs.default(10_000),
  /** Concurrent client connections; beyond it new ones are refused at once. */
  maxConnections: z.number().int().positive().default(20_000),
  /** Concurrent connections per source address (IPv6 per /64): one host cannot fill maxConnections. */
  maxConnectionsPerAddress: z.number().int().positive().default(64),
  /** A TLS listener beside `listen`; REQ_MSG_SERVER on it is answered with the msg_server's TLS address. Needs `tls`. */
  tlsListen: hostPort.optional(),
  tls: tlsServerSchema.optional(),
  /** HTTP listener with GET /v1/endpoint for browsers; off when absent. */
  http: gatewayHttpSchema.optional(),
}).refine((c) => (c.tlsListen === undefined) === (c.tls === undefined), { path: ["tlsListen"], message: "tlsListen and tls must be set together" });
export type GatewayConfig = z.output<typeof gatewaySchema>;
