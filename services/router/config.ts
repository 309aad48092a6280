import { z } from "zod";
import { commonKeys, hostPort, linkKeys } from "../../shared/config/common.js";

export const routerSchema = z.strictObject({
  ...commonKeys,
  ...linkKeys,
  listen: hostPort.default("0.0.0.0:20000"),
  /** Subscriber id sent with SUBSCRIBE_CHANNEL (v1 `UUID`). */
  id: z.string().min(1).default("router-20000"),
  /** Entries of the client -> msg_server cache before the oldest are evicted. */
  locationCacheMax: z.number().int().positive().default(1_000_000),
});
export type RouterConfig = z.output<typeof routerSchema>;
