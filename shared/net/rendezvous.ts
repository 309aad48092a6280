/**
 * Rendezvous (highest-random-weight) hashing: every process that knows the same candidates picks
 * the same one for a key without talking to the others, and when a candidate goes away only the
 * keys it won move (each to its own runner-up), so a router's death does not reshuffle the rest.
 */

/** 32-bit score of (candidate, key): FNV-1a over both, then murmur3's finalizer to spread close ids. */
export function rendezvousScore(candidate: string, key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < candidate.length; i++) h = Math.imul(h ^ candidate.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ 0, 0x01000193);
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The candidates for `key`, best first (equal scores by id, so the order is the same everywhere). */
export function rendezvousOrder<T>(key: string, candidates: Iterable<T>, idOf: (c: T) => string): T[] {
  const scored = [...candidates].map((c) => ({ c, id: idOf(c), s: rendezvousScore(idOf(c), key) }));
  scored.sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return scored.map((x) => x.c);
}
