/**
 * The embedded Store adapter: LMDB through lmdb-js, shared by every process on one machine.
 *
 * Why this is safe with several processes: LMDB allows one write transaction at a time per
 * environment, across processes, and every read-modify-write here (seq and inbox allocation,
 * dedup, pending counts, cursor max, client recency) runs inside one `env.transaction()` callback.
 * lmdb-js runs such callbacks inside its batched write transaction, so their reads see what every
 * process has committed and their writes commit together or not at all.
 *
 * Why this is fast: we never use transactionSync per message. lmdb-js gathers the callbacks queued
 * during one event turn into one LMDB transaction and commits it off the main thread, so a burst
 * of appendP2P calls costs one commit. A resolved promise means that commit happened; with the
 * default overlappingSync the data is visible to other processes and survives a crash of ours.
 *
 * Layout: lmdb-layout.ts. Topics, members and cursors: lmdb-topics.ts. Read positions and the
 * conversation list: lmdb-conversations.ts. Attachments: lmdb-attachments.ts.
 */
import { mkdir } from "node:fs/promises";
import { CommandError, ErrorCode, UnavailableError } from "../errors.js";
import { MAX_POS, assertKeyFits, type Durability, clampLimit, convRange, findOriginal, openDbs, putMessage, type LmdbDbs } from "./lmdb-layout.js";
import { lmdbAttachmentOps, sweepStaleUploads } from "./lmdb-attachments.js";
import { lmdbConversationOps, nextP2PSeq, touchRecent } from "./lmdb-conversations.js";
import { lmdbTopicOps } from "./lmdb-topics.js";
import { lmdbPrune } from "./lmdb-retention.js";
import { p2pConversation } from "../protocol/conversation.js";
import { StallGuard } from "./lmdb-stall-guard.js";
import { AckBatcher } from "./lmdb-ack-batch.js";
import type { AppendP2PResult, ClientRecord, InboxEntry, NewP2PMessage, Store, StoreLimits, StoredMessage } from "./store.js";

export interface LmdbStoreOptions {
  /** Directory of the LMDB environment; created when missing. Every process must use the same one. */
  path: string;
  /** When an acknowledged write counts as safe; see Durability in lmdb-layout.ts. Default "commit". */
  durability?: Durability;
  limits: StoreLimits;
  log?: { warn(obj: object, msg: string): void };
  /** A write pending this long looks for a stopped process holding the write lock and kills it (lmdb-stall-guard.ts); 0: never. Default 500. */
  stalledWriterKillMs?: number;
  /** How long an ack may wait to share the commit of the next append (lmdb-ack-batch.ts); 0: never. Default 4. */
  ackDelayMs?: number;
}

const DEFAULT_ACK_DELAY_MS = 4;

const INBOX_FULL = Symbol("inbox full");

export async function openLmdbStore(opts: LmdbStoreOptions): Promise<Store> {
  let dbs: LmdbDbs;
  try {
    await mkdir(opts.path, { recursive: true });
    dbs = openDbs(opts.path, opts.durability);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new UnavailableError(ErrorCode.IM_ERR_UNAVAILABLE, `LMDB store at ${opts.path} cannot be opened: ${reason}`, {
      cause: err,
    });
  }
  // A process killed while reading leaves its reader slot behind. The slot pins the pages of its
  // old snapshot, so LMDB cannot reuse them and the file keeps growing until the slot is cleared.
  const stale = dbs.env.readerCheck();
  if (stale > 0) opts.log?.warn({ path: opts.path, stale }, "cleared stale LMDB reader slots left by dead processes");
  const swept = await sweepStaleUploads(dbs);
  if (swept > 0) opts.log?.warn({ path: opts.path, swept }, "removed the chunks of attachment uploads whose process died");
  const fresh = withFreshReads(lmdbStore(dbs, opts.limits, new AckBatcher(opts.ackDelayMs ?? DEFAULT_ACK_DELAY_MS)), dbs);
  const flushed = opts.durability === "flush" ? withFlushedWrites(fresh, dbs) : fresh;
  const guard = new StallGuard({ afterMs: opts.stalledWriterKillMs ?? 500, readerList: () => dbs.env.readerList(), log: opts.log });
  const store = withStallGuard(flushed, guard);
  opened.set(store, dbs);
  return store;
}

const opened = new WeakMap<Store, LmdbDbs>();

/** The sub-databases behind a store this module opened: for tests and maintenance tools only. */
export function lmdbDbsOf(store: Store): LmdbDbs | undefined {
  return opened.get(store);
}

/**
 * Attachment leftovers: chunks that belong to no attachment, plus upload records. Zero unless an
 * upload is running or a process died during one (the next open sweeps those).
 */
export function lmdbAttachmentLeftovers(dbs: LmdbDbs): number {
  dbs.env.resetReadTxn();
  let n = dbs.uploads.getCount();
  for (const key of dbs.chunks.getKeys()) if (dbs.files.get(key[0]) === undefined) n++;
  return n;
}

/** Writes that precede an acknowledgement; with durability "flush" they resolve once on disk. */
const ACKED_WRITES = [
  "appendP2P",
  "appendTopic",
  "createTopic",
  "updateTopic",
  "deleteTopic",
  "invite",
  "addMember",
  "removeMember",
  "setReadPosition",
  "putAttachment",
  "deleteAttachment",
] as const satisfies readonly (keyof Store)[];

function withFlushedWrites(store: Store, dbs: LmdbDbs): Store {
  const out = { ...store } as Record<string, unknown>;
  for (const name of ACKED_WRITES) {
    const fn = store[name] as (...a: unknown[]) => Promise<unknown>;
    out[name] = async (...args: unknown[]) => {
      const result = await fn(...args);
      await dbs.env.flushed;
      return result;
    };
  }
  return out as unknown as Store;
}

/** Every method that writes (all but READS) is watched by the stall guard while pending. */
function withStallGuard(store: Store, guard: StallGuard): Store {
  const out = { ...store } as Record<string, unknown>;
  const reads = new Set<string>(READS);
  for (const [name, fn] of Object.entries(store)) {
    if (typeof fn !== "function" || reads.has(name)) continue;
    if (name === "close") {
      out[name] = () => {
        guard.stop();
        return (fn as () => Promise<void>)();
      };
      continue;
    }
    out[name] = (...args: unknown[]) => {
      const r = (fn as (...a: unknown[]) => unknown)(...args);
      return r instanceof Promise ? guard.track(r) : r;
    };
  }
  return out as unknown as Store;
}

/** Methods that only read; each starts from the newest committed snapshot (see withFreshReads). */
const READS = [
  "getTopic",
  "isInvited",
  "listTopics",
  "isMember",
  "members",
  "topicsOf",
  "topicRange",
  "topicHeads",
  "getCursor",
  "inboxRange",
  "inboxHeads",
  "inboxPending",
  "history",
  "getClient",
  "readPositions",
  "conversations",
  "attachmentInfo",
  "readAttachment",
  "attachmentsOf",
  "prune",
] as const satisfies readonly (keyof Store)[];

/**
 * lmdb-js reuses one read snapshot until a setTimeout(0) fires, so every I/O callback of one poll
 * phase reads the same snapshot. Another process may have committed in between (a topic created
 * on msg_server A, then joined through msg_server B, in the same millisecond), so each read
 * method renews the snapshot first; it costs a native call, far less than a stale read.
 */
function withFreshReads(store: Store, dbs: LmdbDbs): Store {
  const out = { ...store } as Record<string, unknown>;
  for (const name of READS) {
    const fn = store[name] as (...a: unknown[]) => unknown;
    out[name] = (...args: unknown[]) => {
      dbs.env.resetReadTxn();
      return fn(...args);
    };
  }
  return out as unknown as Store;
}

/** The p2p, history and client methods; topics live in lmdb-topics.ts. */
function lmdbStore(dbs: LmdbDbs, limits: StoreLimits, acks: AckBatcher): Store {
  const { env } = dbs;
  let closed: Promise<void> | undefined;
  const topics = lmdbTopicOps(dbs);

  return {
    kind: "lmdb",
    atomicAppends: true,
    ...topics,
    // Held acks join the commit of an append (lmdb-ack-batch.ts): queued in the same turn, just before it.
    appendTopic(...args) {
      acks.flush();
      return topics.appendTopic(...args);
    },
    ...lmdbConversationOps(dbs),
    ...lmdbAttachmentOps(dbs, limits),

    async appendP2P(m: NewP2PMessage): Promise<AppendP2PResult> {
      const max = limits.inboxMaxPending;
      // [from, ts, conv] in `recent` holds both ids twice; it covers the conv key and [to, ipos].
      assertKeyFits(m.from, m.to, m.from, m.to);
      assertKeyFits(m.to, m.uuid);
      if (m.cmid !== undefined) assertKeyFits(m.from, m.cmid);
      acks.flush();
      const res = await env.transaction((): AppendP2PResult | typeof INBOX_FULL => {
        // Dedup first: a retry of a message already stored must succeed even when the inbox is full.
        const found = findOriginal(dbs, m.from, m.cmid);
        if (found) return { msg: found.msg, ipos: found.ipos, duplicate: true };
        const [head, pending] = dbs.inboxMeta.get(m.to) ?? [0, 0];
        if (pending >= max) return INBOX_FULL;
        const conv = p2pConversation(m.from, m.to);
        const ipos = head + 1;
        const { seq, prevTs } = nextP2PSeq(dbs, conv, m.from, m.ts);
        const msg: StoredMessage = {
          uuid: m.uuid,
          kind: "p2p",
          conv,
          seq,
          from: m.from,
          to: m.to,
          body: m.body,
          ts: m.ts,
        };
        if (m.cmid !== undefined) msg.cmid = m.cmid;
        dbs.inboxMeta.putSync(m.to, [ipos, pending + 1]);
        dbs.inbox.putSync([m.to, ipos], [conv, msg.seq, m.uuid]);
        putMessage(dbs, msg, [conv, msg.seq, m.to, ipos]);
        touchRecent(dbs, msg, prevTs);
        return { msg, ipos, duplicate: false };
      });
      if (res === INBOX_FULL) {
        throw new CommandError(ErrorCode.IM_ERR_INBOX_FULL, `inbox of "${m.to}" already holds ${max} unacknowledged messages`);
      }
      return res;
    },

    async inboxRange(recipient: string, afterIpos: number, limit: number): Promise<InboxEntry[]> {
      const n = clampLimit(limit);
      const out: InboxEntry[] = [];
      if (n === 0) return out;
      const start = Math.max(0, Math.floor(afterIpos)) + 1;
      for (const { key, value } of dbs.inbox.getRange({ start: [recipient, start], end: [recipient, MAX_POS], limit: n })) {
        const msg = dbs.msgs.get([value[0], value[1]]);
        // Entry and message are written in one transaction, so a missing message means corruption;
        // skipping it keeps the rest of the inbox deliverable.
        if (msg) out.push({ recipient, ipos: key[1], msg });
      }
      return out;
    },

    async inboxHeads(recipients: readonly string[]): Promise<Map<string, number>> {
      const heads = new Map<string, number>();
      for (const r of recipients) heads.set(r, dbs.inboxMeta.get(r)?.[0] ?? 0);
      return heads;
    },

    async inboxPending(recipient: string): Promise<number> {
      return dbs.inboxMeta.get(recipient)?.[1] ?? 0;
    },

    async ackInbox(recipient: string, uuid: string, iposHint?: number): Promise<boolean> {
      return acks.defer(() => env.transaction(() => {
        let ipos: number | undefined;
        if (iposHint !== undefined && dbs.inbox.get([recipient, iposHint])?.[2] === uuid) ipos = iposHint;
        else {
          // No (or a wrong) position: find the uuid among this recipient's unacknowledged entries.
          for (const { key, value } of dbs.inbox.getRange({ start: [recipient, 0], end: [recipient, MAX_POS] })) {
            if (value[2] === uuid) {
              ipos = key[1];
              break;
            }
          }
        }
        // Only a real removal lowers the pending count, so a repeated ack cannot drive it below truth.
        if (ipos === undefined) return false;
        dbs.inbox.removeSync([recipient, ipos]);
        const [head, pending] = dbs.inboxMeta.get(recipient) ?? [ipos, 1];
        dbs.inboxMeta.putSync(recipient, [head, Math.max(0, pending - 1)]);
        return true;
      }));
    },

    prune: (policy, opts) => lmdbPrune(dbs, policy, opts),

    async history(conv: string, afterSeq: number, limit: number): Promise<StoredMessage[]> {
      return convRange(dbs, conv, afterSeq, limit);
    },

    async upsertClient(rec: ClientRecord): Promise<void> {
      assertKeyFits(rec.clientId);
      const copy: ClientRecord = {
        clientId: rec.clientId,
        clientAddr: rec.clientAddr,
        msgServerAddr: rec.msgServerAddr,
        alive: rec.alive,
        lastSeenMs: rec.lastSeenMs,
      };
      await env.transaction(() => {
        const cur = dbs.clients.get(rec.clientId);
        // Reports from different msg_servers can arrive out of order; the most recent one wins.
        if (cur && cur.lastSeenMs > rec.lastSeenMs) return;
        dbs.clients.putSync(rec.clientId, copy);
      });
    },

    async getClient(clientId: string): Promise<ClientRecord | null> {
      return dbs.clients.get(clientId) ?? null;
    },

    close(): Promise<void> {
      // Idempotent: shutdown paths may call close twice, and a second env.close() throws.
      closed ??= acks.drain().then(() => env.close());
      return closed;
    },
  };
}
