/**
 * Store.prune for the LMDB adapter. Reads a slice of `msgs` in key order ([conv, seq]), decides
 * with retention.ts `prunable`, and deletes in one write transaction per slice, re-checking each
 * message there (another process may have pruned it, or its inbox entry may have been acked).
 */
import { MAX_POS, type LmdbDbs } from "./lmdb-layout.js";
import { prunable, type PruneCursor, type PruneResult, type RetentionPolicy } from "./retention.js";
import type { StoredMessage } from "./store.js";

/** The participants of a p2p conversation id, `p2p:<a> <b>`. */
function pair(conv: string): [string, string] | null {
  if (!conv.startsWith("p2p:")) return null;
  const i = conv.indexOf(" ", 4);
  return i < 0 ? null : [conv.slice(4, i), conv.slice(i + 1)];
}

/** The inbox positions of one p2p conversation's unacknowledged messages: seq -> [recipient, ipos]. */
function pendingOf(dbs: LmdbDbs, conv: string): Map<number, [string, number]> {
  const out = new Map<number, [string, number]>();
  const p = pair(conv);
  if (!p) return out;
  for (const who of new Set(p)) {
    for (const { key, value } of dbs.inbox.getRange({ start: [who, 0], end: [who, MAX_POS] })) {
      if (value[0] === conv) out.set(value[1], [who, key[1]]);
    }
  }
  return out;
}

function headOf(dbs: LmdbDbs, conv: string): number {
  return dbs.p2pHeads.get(conv)?.[0] ?? dbs.seqs.get(conv) ?? 0;
}

export async function lmdbPrune(dbs: LmdbDbs, policy: RetentionPolicy, opts: { now: number; budget: number; after?: PruneCursor }): Promise<PruneResult> {
  const start: PruneCursor = opts.after ? [opts.after[0], opts.after[1] + 1] : ["", 0];
  const victims: { msg: StoredMessage; inbox: [string, number] | null }[] = [];
  let scanned = 0;
  let last: PruneCursor | undefined;
  let conv = "";
  let head = 0;
  let pending = new Map<number, [string, number]>();
  for (const { key, value } of dbs.msgs.getRange({ start })) {
    if (scanned >= opts.budget) break;
    scanned++;
    last = key;
    if (key[0] !== conv) {
      conv = key[0];
      head = headOf(dbs, conv);
      pending = pendingOf(dbs, conv);
    }
    const inbox = pending.get(key[1]) ?? null;
    if (prunable(policy, value, head, inbox !== null, opts.now)) victims.push({ msg: value, inbox });
  }
  let deleted = 0;
  let expiredInbox = 0;
  if (victims.length > 0) {
    await dbs.env.transaction(() => {
      for (const { msg, inbox } of victims) {
        if (!dbs.msgs.removeSync([msg.conv, msg.seq])) continue;
        deleted++;
        if (msg.cmid !== undefined) dbs.dedup.removeSync([msg.from, msg.cmid]);
        if (inbox && dbs.inbox.get(inbox)?.[2] === msg.uuid) {
          dbs.inbox.removeSync(inbox);
          const [ihead, n] = dbs.inboxMeta.get(inbox[0]) ?? [inbox[1], 1];
          dbs.inboxMeta.putSync(inbox[0], [ihead, Math.max(0, n - 1)]);
          expiredInbox++;
        }
      }
    });
  }
  const more = scanned >= opts.budget;
  return { scanned, deleted, expiredInbox, ...(more && last ? { next: last } : {}) };
}
