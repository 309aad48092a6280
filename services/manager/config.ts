import { z } from "zod";
import { commonKeys, hostPort, linkKeys, positiveMs, storeSchema } from "../../shared/config/common.js";

export const managerSchema = z.strictObject({
  ...commonKeys,
  ...linkKeys,
  listen: hostPort.default("0.0.0.0:18000"),
  /** Subscriber id sent with SUBSCRIBE_CHANNEL (v1 `UUID`). */
  id: z.string().min(1).default("manager-18000"),
  store: storeSchema,
  /** TTL of the v1-compatible `IM:<id>session` and `IM:<name>topic` cache keys (v1: 2 days, never refreshed). */
  v1CacheTtlMs: positiveMs.default(2 * 24 * 3600 * 1000),
  /** Members written into a v1 `IM:<name>topic` value at most (a cache, not the membership truth). */
  v1TopicMembersMax: z.number().int().positive().default(1000),
});
export type ManagerConfig = z.output<typeof managerSchema>;
