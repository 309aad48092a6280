/**
 * Retention: how long the store keeps messages. Enforced by the store itself (Store.prune), run
 * in slices by the manager, so history cannot grow without end and a flood aimed at made-up
 * recipients ends up deleted. docs/STORE.md ("Retention") has the rules and the defaults.
 */
export interface RetentionPolicy {
  /** Messages older than this (ms) are deleted; 0: no age limit. */
  maxAgeMs: number;
  /** Per conversation (a p2p pair or a topic), only the newest this many are kept; 0: no count limit. */
  maxPerConversation: number;
}

/** Where a prune pass stopped; hand it to the next call to go on (opaque to callers). */
export type PruneCursor = [conv: string, seq: number];

export interface PruneResult {
  /** Messages looked at. */
  scanned: number;
  /** Messages deleted. */
  deleted: number;
  /** Unacknowledged inbox entries deleted with their message (older than maxAgeMs). */
  expiredInbox: number;
  /** Where to go on from; absent when the pass reached the end of the store. */
  next?: PruneCursor;
}

/**
 * What may go. A message still waiting in its recipient's inbox is kept however many newer ones
 * there are (the count limit never takes an undelivered message), but not past maxAgeMs: an
 * offline message that old is dropped with its inbox entry.
 */
export function prunable(p: RetentionPolicy, m: { seq: number; ts: number }, head: number, pending: boolean, now: number): boolean {
  const old = p.maxAgeMs > 0 && m.ts < now - p.maxAgeMs;
  if (old) return true;
  const beyondCount = p.maxPerConversation > 0 && m.seq <= head - p.maxPerConversation;
  return beyondCount && !pending;
}
