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
  /**
   * Retention, enforced by the store and run by the manager (docs/STORE.md "Retention"): history
   * cannot grow for ever, and what a flood to made-up recipients left behind goes in the end.
   */
  retention: z
    .strictObject({
      /** Messages older than this are deleted, undelivered ones with their inbox entries; 0: no age limit. @default 365 days */
      maxAgeDays: z.number().nonnegative().default(365),
      /** Per conversation only the newest this many are kept (never an undelivered one); 0: no count limit. @default 100000 */
      maxPerConversation: z.number().int().nonnegative().default(100_000),
      /** Messages looked at per slice; a slice runs every sliceEveryMs, until a pass has covered the store. */
      sliceMessages: z.number().int().positive().default(2000),
      sliceEveryMs: positiveMs.default(2000),
      /**
       * Attachments go by age only (maxAgeDays), once they are this much older than the cutoff: a
       * file uploaded just before the cutoff keeps its message's reference alive a little longer.
       */
      attachmentGraceMs: z.number().int().nonnegative().default(3600_000),
      /** Pause between two passes over the store. */
      passEveryMs: positiveMs.default(3600_000),
    })
    .prefault({}),
});
export type ManagerConfig = z.output<typeof managerSchema>;
