/** Harness types and assertion helpers shared by the store conformance suite files. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { ErrorCode } from "../../shared/errors.js";
import { ImError } from "../../shared/errors.js";
import type { NewP2PMessage, Store, StoreLimits } from "../../shared/store/store.js";

export interface StoreHarness {
  store: Store;
  /** Open another store on the same data, e.g. after `store.close()`. Closed by cleanup(). */
  reopen(): Promise<Store>;
  /** Close every store opened by this harness and delete its data. */
  cleanup(): Promise<void>;
}

export type StoreFactory = (limits: StoreLimits) => Promise<StoreHarness>;

/** Roomy enough for the concurrency tests; the inbox-limit test asks for a small one. */
export const DEFAULT_LIMITS: StoreLimits = { inboxMaxPending: 1000 };

export function p2p(from: string, to: string, body = "hi", extra: Partial<NewP2PMessage> = {}): NewP2PMessage {
  return { uuid: randomUUID(), from, to, body, ts: 1_700_000_000_000, ...extra };
}

/** 1..n, for "exactly these seqs, no gaps, no duplicates" assertions. */
export function range1(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

export function sortedNums(xs: readonly number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

export async function rejectsWithCode(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ImError, `expected an ImError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** Run `fn` against a fresh store and always clean up, so one failure does not leak into the next test. */
export async function withStore(
  factory: StoreFactory,
  fn: (store: Store, h: StoreHarness) => Promise<void>,
  limits: StoreLimits = DEFAULT_LIMITS,
): Promise<void> {
  const h = await factory(limits);
  try {
    await fn(h.store, h);
  } finally {
    await h.cleanup();
  }
}

/**
 * Stores order strings by their UTF-8 bytes (LMDB keys and MongoDB's default collation both do),
 * which differs from JS `<` (UTF-16 units) for characters beyond U+FFFF.
 */
export function sortByUtf8(xs: readonly string[]): string[] {
  return [...xs].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
