/** Harness types and assertion helpers shared by the store conformance suite files. */
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { ErrorCode } from "../../shared/errors.js";
import { ImError } from "../../shared/errors.js";
import type { NewP2PMessage, Store, StoreLimits } from "../../shared/store/store.js";

export interface StoreHarness {
  store: Store;
  /** Open another store on the same data, e.g. after `store.close()`. Closed by cleanup(). */
  reopen(): Promise<Store>;
  /** Close every store opened by this harness and delete its data. */
  cleanup(): Promise<void>;
  /**
   * Attachment bytes not reachable from any attachment, plus unfinished-work records: what a
   * failed or refused upload must not leave behind. Counted from the adapter's own records.
   */
  orphans(): Promise<number>;
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

// ---- attachments -------------------------------------------------------------------------

/** The test byte at position i of pattern `seed`: cheap, position-addressable, not periodic at chunk sizes. */
function byteAt(seed: number, i: number): number {
  return Math.imul(i ^ seed, 0x9e3779b1) >>> 24;
}

/** Bytes [start, end) of pattern `seed`. */
export function patternBytes(seed: number, start: number, end: number): Buffer {
  const out = Buffer.allocUnsafe(end - start);
  for (let i = start; i < end; i++) out[i - start] = byteAt(seed, i);
  return out;
}

/** Piece sizes that straddle every chunk size in use (64 KiB, 255 KiB) and include tiny writes. */
const PIECES = [1, 7, 1000, 65_535, 65_536, 65_537, 100_000, 3, 261_121, 16_384];

export interface PatternSourceOptions {
  /** Called as each piece is handed out, with the bytes produced so far (a probe for "stopped reading"). */
  onPiece?: (produced: number) => void;
  /** Fail with this error once this many bytes were produced. */
  failAfter?: { bytes: number; error: Error };
}

/** `size` bytes of pattern `seed` in pieces of varying size, generated as they are pulled. */
export async function* patternSource(seed: number, size: number, opts: PatternSourceOptions = {}): AsyncGenerator<Uint8Array> {
  let pos = 0;
  for (let k = 0; pos < size; k++) {
    if (opts.failAfter && pos >= opts.failAfter.bytes) throw opts.failAfter.error;
    const n = Math.min(PIECES[k % PIECES.length] ?? 1, size - pos);
    const piece = patternBytes(seed, pos, pos + n);
    pos += n;
    opts.onPiece?.(pos);
    yield piece;
    // A real upload arrives over time; yielding to the event loop now and then keeps it honest.
    if (k % 16 === 0) await new Promise((r) => setImmediate(r));
  }
}

export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The SHA-256 of pattern `seed`'s first `size` bytes, computed without holding them all. */
export function patternSha(seed: number, size: number): string {
  const h = createHash("sha256");
  for (let pos = 0; pos < size; pos += 1 << 20) h.update(patternBytes(seed, pos, Math.min(size, pos + (1 << 20))));
  return h.digest("hex");
}

/** Hash a stream without keeping it; `onBytes` sees the running byte count. */
export async function streamSha(stream: AsyncIterable<Uint8Array>, onBytes?: (n: number) => void): Promise<{ sha: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  for await (const c of stream) {
    h.update(c);
    bytes += c.byteLength;
    onBytes?.(bytes);
  }
  return { sha: h.digest("hex"), bytes };
}

export async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

let gcFn: (() => void) | undefined;

/** Live JS memory (heap + buffers) after a full collection: what a streaming path retains. */
export function liveBytes(): number {
  if (!gcFn) {
    setFlagsFromString("--expose-gc");
    gcFn = runInNewContext("gc") as () => void;
  }
  gcFn();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}
