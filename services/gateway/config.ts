import { z } from "zod";
import { commonKeys, hostPort, positiveMs } from "../../shared/config/common.js";

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
});
export type GatewayConfig = z.output<typeof gatewaySchema>;
