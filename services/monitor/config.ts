import { z } from "zod";
import { commonKeys, hostPort, linkKeys, positiveMs } from "../../shared/config/common.js";

export const monitorSchema = z.strictObject({
  ...commonKeys,
  ...linkKeys,
  listen: hostPort.default("127.0.0.1:21000"),
  /** Subscriber id sent with SUBSCRIBE_CHANNEL (v1 `UUID`). */
  id: z.string().min(1).default("monitor-21000"),
  http: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(30000),
      /** Bearer token required on every request when set. */
      token: z.string().default(""),
      /** Basic-auth credentials required when both are set. */
      username: z.string().default(""),
      password: z.string().default(""),
    })
    .prefault({}),
  /** How often the registry is sampled into the history. */
  sampleMs: positiveMs.default(2000),
  /** How much history is kept in memory for the charts. */
  historyMs: positiveMs.default(3600 * 1000),
});
export type MonitorConfig = z.output<typeof monitorSchema>;
