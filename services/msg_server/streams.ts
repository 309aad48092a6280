import type { StoredMessage } from "../../shared/store/store.js";
import { congested, writable } from "./flow.js";
import { GAP_WAIT_MS, OrderedStream, type StreamEntry } from "./ordered-stream.js";
import type { Conn } from "./session.js";

/** A position missing from the store for this long was never committed (its writer crashed) and is skipped. */
export const HOLE_GRACE_MS = 2000;
/** Live entries held per stream while a pull runs, in batches: beyond it they are re-read from the store. */
const STASH_BATCHES = 4;

export interface StreamSpec {
  conn: Conn;
  /** Entries read from the store per pull. */
  batch: number;
  /** Whether the store's appends are atomic (see Store.atomicAppends). */
  atomicAppends: boolean;
  push(pos: number, msg: StoredMessage): boolean;
  pull(after: number, limit: number): Promise<StreamEntry<StoredMessage>[]>;
  onError(err: unknown): void;
}

/** The ordered stream of one inbox or topic to one connection, paced to that connection. Used for both p2p and topics. */
export function deliveryStream(start: number, s: StreamSpec): OrderedStream<StoredMessage> {
  return new OrderedStream<StoredMessage>(start, {
    push: s.push,
    pull: s.pull,
    congested: () => congested(s.conn),
    writable: () => writable(s.conn),
    batch: s.batch,
    skipHoles: s.atomicAppends,
    maxStash: s.batch * STASH_BATCHES,
    holeGraceMs: HOLE_GRACE_MS,
    gapWaitMs: GAP_WAIT_MS,
    onError: s.onError,
  });
}
