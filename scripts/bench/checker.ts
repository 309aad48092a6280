/**
 * The correctness checker of the load tool: pure bookkeeping, no I/O, no clock, so it is
 * unit-tested with synthetic streams (test/integration/bench-checker.test.ts).
 *
 * Model. A sender numbers its messages 1, 2, 3, ... (the per-sender sequence carried in every
 * body) and has a fixed set of recipients (its p2p partner, or every member of its topic, itself
 * included). For each message the tool reports: sent (written), acked (the server answered OK,
 * i.e. the message is durably stored) or rejected (ERR), and every delivery to a recipient.
 *
 * Definitions (also in BENCHMARKS.md):
 * - lost: an acked message that an expected recipient had not received when report() is called.
 *   The tool calls it once sending has stopped and the drain has ended: every expected delivery
 *   arrived, or nothing at all (no reply, no delivery) arrived for the drain timeout (--drain-ms,
 *   10 s), or the drain cap passed (--drain-max-ms, 2 min; the report then says so). So "never"
 *   means "not while the cluster was still delivering anything, plus 10 s".
 * - duplicated: a second (third, ...) delivery of the same message to the same recipient.
 * - out of order: a first delivery whose sequence is below one that recipient already got from
 *   the same sender (per-conversation order is what FishChat promises).
 * - misdelivered: a delivery the tool never asked for: unknown sender, a recipient that is not
 *   one of the sender's, or a sequence that was never sent.
 * Delivered-but-not-acked messages (the OK was still in flight when the run ended, or the server
 * answered ERR after all) are counted but are not failures.
 */
import { SeqSet } from "./seq-set.js";

export const Verdict = { OK: 0, DUPLICATE: 1, OUT_OF_ORDER: 2, MISDELIVERED: 3 } as const;
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

interface Track {
  delivered: SeqSet;
}

interface SenderState {
  sent: number;
  acked: SeqSet;
  rejected: number;
  tracks: Map<number, Track>;
}

export interface LostSample {
  sender: number;
  recipient: number;
  seq: number;
}

export interface CheckResult {
  sent: number;
  acked: number;
  rejected: number;
  /** Sent but neither acked nor rejected when the run ended (timeouts, closed connections). */
  unanswered: number;
  /** Deliveries owed: acked messages times their recipients. */
  expected: number;
  /** Distinct (message, recipient) deliveries, acked or not. */
  delivered: number;
  lost: number;
  duplicated: number;
  outOfOrder: number;
  misdelivered: number;
  /** Delivered although never acked: not an error (see the header). */
  deliveredUnacked: number;
  /** A few lost messages, to start debugging from. */
  lostSamples: LostSample[];
  /** Human-readable reasons; empty when the run was correct. */
  failures: string[];
}

const LOST_SAMPLE_LIMIT = 10;

export class Checker {
  private readonly senders = new Map<number, SenderState>();
  private ackedExpected = 0;
  /** Deliveries of acked messages seen so far; ackedExpected - matched is what is still owed. */
  private matched = 0;
  private dup = 0;
  private ooo = 0;
  private misdelivered = 0;

  /** Declare a sender and who must receive each of its messages. Call before sent(). */
  addSender(sender: number, recipients: readonly number[]): void {
    if (this.senders.has(sender)) throw new Error(`sender ${sender} declared twice`);
    const tracks = new Map<number, Track>();
    for (const r of recipients) tracks.set(r, { delivered: new SeqSet() });
    this.senders.set(sender, { sent: 0, acked: new SeqSet(), rejected: 0, tracks });
  }

  /** The sender wrote message `seq`; sequences must go 1, 2, 3, ... per sender. */
  sent(sender: number, seq: number): void {
    const s = this.sender(sender);
    if (seq !== s.sent + 1) throw new Error(`sender ${sender}: sent seq ${seq} after ${s.sent}`);
    s.sent = seq;
  }

  /** The server answered OK for message `seq`: it owes a delivery to every recipient. */
  acked(sender: number, seq: number): void {
    const s = this.sender(sender);
    if (seq < 1 || seq > s.sent) throw new Error(`sender ${sender}: ack of unsent seq ${seq}`);
    if (!s.acked.add(seq)) return;
    this.ackedExpected += s.tracks.size;
    // A delivery can overtake its sender's OK (the server pushes before it answers).
    for (const t of s.tracks.values()) if (t.delivered.has(seq)) this.matched++;
  }

  rejected(sender: number, _seq: number): void {
    this.sender(sender).rejected++;
  }

  /** `recipient` received message `seq` of `sender`. */
  delivered(recipient: number, sender: number, seq: number): Verdict {
    const s = this.senders.get(sender);
    const t = s?.tracks.get(recipient);
    if (!s || !t || !Number.isSafeInteger(seq) || seq < 1 || seq > s.sent) {
      this.misdelivered++;
      return Verdict.MISDELIVERED;
    }
    const before = t.delivered.max;
    if (!t.delivered.add(seq)) {
      this.dup++;
      return Verdict.DUPLICATE;
    }
    if (s.acked.has(seq)) this.matched++;
    if (seq < before) {
      this.ooo++;
      return Verdict.OUT_OF_ORDER;
    }
    return Verdict.OK;
  }

  /** Deliveries of acked messages not seen yet: the drain loop waits for this to reach 0. */
  get outstanding(): number {
    return this.ackedExpected - this.matched;
  }

  get duplicates(): number {
    return this.dup;
  }

  report(): CheckResult {
    let sent = 0;
    let acked = 0;
    let rejected = 0;
    let delivered = 0;
    let deliveredOfAcked = 0;
    let lost = 0;
    const lostSamples: LostSample[] = [];
    for (const [sender, s] of this.senders) {
      sent += s.sent;
      acked += s.acked.size;
      rejected += s.rejected;
      for (const [recipient, t] of s.tracks) {
        const both = s.acked.intersectionSize(t.delivered);
        delivered += t.delivered.size;
        deliveredOfAcked += both;
        const missing = s.acked.size - both;
        lost += missing;
        if (missing > 0 && lostSamples.length < LOST_SAMPLE_LIMIT) {
          for (const seq of s.acked.sampleMissingFrom(t.delivered, LOST_SAMPLE_LIMIT - lostSamples.length)) {
            lostSamples.push({ sender, recipient, seq });
          }
        }
      }
    }
    const failures: string[] = [];
    if (lost > 0) failures.push(`${lost} acknowledged deliveries lost`);
    if (this.dup > 0) failures.push(`${this.dup} duplicate deliveries`);
    if (this.ooo > 0) failures.push(`${this.ooo} deliveries out of order`);
    if (this.misdelivered > 0) failures.push(`${this.misdelivered} deliveries never sent to that recipient`);
    return {
      sent,
      acked,
      rejected,
      unanswered: sent - acked - rejected,
      expected: this.ackedExpected,
      delivered,
      lost,
      duplicated: this.dup,
      outOfOrder: this.ooo,
      misdelivered: this.misdelivered,
      deliveredUnacked: delivered - deliveredOfAcked,
      lostSamples,
      failures,
    };
  }

  private sender(id: number): SenderState {
    const s = this.senders.get(id);
    if (!s) throw new Error(`unknown sender ${id}`);
    return s;
  }
}
