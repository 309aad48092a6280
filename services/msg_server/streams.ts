import type { StoredMessage } from "../../shared/store/store.js";
import { congested, writable } from "./flow.js";
import { GAP_WAIT_MS, OrderedStream, type OrderedStreamOptions, type StreamEntry } from "./ordered-stream.js";
import type { Conn } from "./session.js";

/** A position missing from the store for this long was never committed (its writer crashed) and is skipped. */
export const HOLE_GRACE_MS = 2000;
/** Live entries held per stream while a pull runs, in batches: beyond it they are re-read from the store. */
const STASH_BATCHES = 4;

/**
 * What one inbox or topic stream needs from its owner: where to push, how to read the store, and
 * the pacing and parameters every stream shares. Subclassed (InboxFeed in delivery.ts, TopicFeed
 * in topics.ts) so that a stream's callbacks are methods on a prototype: as closures they were
 * five functions and their contexts per stream, held by every idle session (BENCHMARKS.md).
 */
export abstract class DeliveryFeed implements OrderedStreamOptions<StoredMessage> {
  readonly batch: number;
  readonly skipHoles: boolean;

  /** `atomicAppends`: whether the store's appends are atomic (see Store.atomicAppends). */
  constructor(
    readonly conn: Conn,
    batch: number,
    atomicAppends: boolean,
  ) {
    this.batch = batch;
    this.skipHoles = atomicAppends;
  }

  get maxStash(): number {
    return this.batch * STASH_BATCHES;
  }

  get holeGraceMs(): number {
    return HOLE_GRACE_MS;
  }

  get gapWaitMs(): number {
    return GAP_WAIT_MS;
  }

  congested(): boolean {
    return congested(this.conn);
  }

  writable(): Promise<void> {
    return writable(this.conn);
  }

  abstract push(pos: number, msg: StoredMessage): boolean;
  abstract pull(after: number, limit: number): Promise<StreamEntry<StoredMessage>[]>;
  abstract onError(err: unknown): void;
}

/** The ordered stream of one inbox or topic to one connection, paced to that connection. Used for both p2p and topics. */
export function deliveryStream(start: number, feed: DeliveryFeed): OrderedStream<StoredMessage> {
  return new OrderedStream<StoredMessage>(start, feed);
}
