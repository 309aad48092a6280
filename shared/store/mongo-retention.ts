/**
 * Store.prune for the MongoDB adapter: a slice of `messages` in (conv, seq) order (the unique
 * index), decided by retention.ts `prunable`, deleted with one deleteMany per slice that repeats
 * the conditions, so a message acknowledged or pruned meanwhile is judged on what is stored.
 * An unacknowledged message still carries `inboxOf`; deleting it removes its inbox entry too.
 */
import type { MongoModels } from "./mongo-models.js";
import { prunable, type PruneCursor, type PruneResult, type RetentionPolicy } from "./retention.js";

export async function mongoPrune({ Message, Counter }: MongoModels, policy: RetentionPolicy, opts: { now: number; budget: number; after?: PruneCursor }): Promise<PruneResult> {
  const filter = opts.after ? { $or: [{ conv: opts.after[0], seq: { $gt: opts.after[1] } }, { conv: { $gt: opts.after[0] } }] } : {};
  const docs = await Message.find(filter, { _id: 0, conv: 1, seq: 1, ts: 1, inboxOf: 1 }).sort({ conv: 1, seq: 1 }).limit(opts.budget).lean();
  const convs = [...new Set(docs.map((d) => d.conv))];
  const counters = await Counter.find({ _id: { $in: convs.map((c) => `conv:${c}`) } }).lean();
  const heads = new Map(counters.map((c) => [String(c._id).slice(5), c.seq]));
  const victims = docs.filter((d) => prunable(policy, d, heads.get(d.conv) ?? 0, d.inboxOf !== undefined && d.inboxOf !== null, opts.now));
  let deleted = 0;
  let expiredInbox = 0;
  if (victims.length > 0) {
    const pendingVictims = victims.filter((d) => d.inboxOf);
    const res = await Message.deleteMany({ $or: victims.map((d) => ({ conv: d.conv, seq: d.seq })) });
    deleted = res.deletedCount;
    // Inbox counters of recipients whose pending (expired) messages went.
    for (const d of pendingVictims) {
      await Counter.updateOne({ _id: `inbox:${d.inboxOf}`, pending: { $gt: 0 } }, { $inc: { pending: -1 } });
      expiredInbox++;
    }
  }
  const last = docs.at(-1);
  return { scanned: docs.length, deleted, expiredInbox, ...(docs.length >= opts.budget && last ? { next: [last.conv, last.seq] as PruneCursor } : {}) };
}
