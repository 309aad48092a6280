import { z } from "zod";
import { commonKeys, hostPort, positiveMs } from "../../shared/config/common.js";
import { tlsServerSchema } from "../../shared/net/tls-config.js";

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
