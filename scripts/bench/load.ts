/**
 * The message load shared by the p2p and topic scenarios: senders, pacing, drain, and the path
 * from a received body to the checker and the latency histograms.
 *
 * Pacing. Unpaced (rate 0) is a closed loop: each sender keeps `window` messages awaiting their
 * OK, so the figure is the cluster's peak throughput at that concurrency. Paced (rate R) is an
 * open loop: a 1 ms ticker issues whatever is due at R msg/s round-robin over the senders, and a
 * message's send time is its *scheduled* time, not when the tool got round to it, so a stall of
 * the tool or the server shows up as latency instead of silently lowering the load (coordinated
 * omission).
 *
 * Window. Rates and CPU cover [start + warmup, stop] for timed runs; a counted run (--messages)
 * ends at the last delivery. Latency covers every message *sent* in the window, however late it
 * arrives (during the drain too): cutting at stop would drop exactly the slowest messages.
 * Correctness covers every message of the run.
 *
 * Drain. After sending stops, the run waits until every send is answered and every acked
 * message delivered, or until nothing at all (no reply, no delivery) has arrived for drainMs, or
 * until drainMaxMs. The quiet period, not a fixed deadline, ends it: an overloaded cluster still
 * working through a backlog keeps delivering, and its late messages must not count as lost.
 * What is still owed after a quiet drainMs is lost (see checker.ts).
 *
 * Stall. A counted run waits for its quota; if nothing arrives for drainMs while sends are
 * outstanding it gives up and drains, so a wedged cluster ends the run instead of hanging it.
 */
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import type { BenchConn } from "./bench-conn.js";
import { Kind } from "./bench-conn.js";
import { decodeBody, encodeBody, nowUs } from "./body.js";
import { Checker, Verdict, type CheckResult } from "./checker.js";
import { FaultInjector, type Delivery } from "./inject.js";
import type { BenchOptions } from "./options.js";
import { Latency, type LatencySummary } from "./latency.js";
import { traceDelivery } from "./delivery-trace.js";

/** Paced mode: a sender with this many messages awaiting their OK skips its turn (the offered load is then not met, and the report says so). */
const MAX_OUTSTANDING_PER_SENDER = 5000;
/** After the last expected delivery: keep listening this long for late duplicates. */
const LINGER_MS = 300;
const POLL_MS = 10;
const STALL_CHECK_MS = 1000;

/** The options that shape the load (see options.ts for what each means). */
export type LoadConfig = Pick<BenchOptions, "rate" | "window" | "durationSec" | "messages" | "warmupSec" | "bodyBytes" | "drainMs" | "drainMaxMs" | "inject">;

interface Sender {
  idx: number;
  conn: BenchConn;
  /** Line-codec text up to the body: `SEND_MESSAGE_P2P bob `. */
  prefix: string;
  cmdName: string;
  dest: string;
  seq: number;
  quota: number;
  inflight: number;
}

export interface LoadResult {
  check: CheckResult;
  /** Length of the measurement window. */
  windowSec: number;
  ackedPerSec: number;
  deliveredPerSec: number;
  /** Paced runs: what was asked for and what the tool managed to issue. */
  offeredPerSec: number;
  issuedPerSec: number;
  skippedBacklog: number;
  /** No reply for drainMs while sends were outstanding: sending was abandoned. */
  stalled: boolean;
  /** From the end of sending to the end of the drain, and why the drain ended. */
  drainSec: number;
  drainEnd: "complete" | "quiet" | "cap";
  latency: LatencySummary;
  ackLatency: LatencySummary;
  errors: Record<string, number>;
}

export interface WindowHooks {
  start(): void;
  end(): void;
}

export class LoadEngine {
  readonly checker = new Checker();
  private readonly latency = new Latency();
  private readonly ackLatency = new Latency();
  private readonly injector: FaultInjector;
  private readonly senders: Sender[] = [];
  private readonly byIdx = new Map<number, Sender>();
  private readonly errors = new Map<string, number>();
  private running = false;
  private t0Us = 0;
  private warmEndUs = Number.POSITIVE_INFINITY;

  /** Whether a message sent at sendUs falls in the measured window (after the warm-up). */
  measured(sendUs: number): boolean {
    return sendUs >= this.warmEndUs;
  }
  /** Deliveries and acks after this do not count towards rates (timed runs). */
  private cutoffUs = Number.POSITIVE_INFINITY;
  private lastDeliveryUs = 0;
  private deliveredInWindow = 0;
  private ackedInWindow = 0;
  private issued = 0;
  private skipped = 0;
  private inflight = 0;
  private finishedSending: (() => void) | null = null;
  /** Last reply or first delivery: the drain ends after drainMs without any. */
  private lastProgressUs = 0;
  private stalled = false;
  private readonly sink = (d: Delivery) => this.count(d);

  constructor(
    private readonly cfg: LoadConfig,
    /** Client id by index: a delivery's `from` must match the sender its body names. */
    private readonly ids: readonly string[],
    private readonly hooks: WindowHooks,
  ) {
    this.injector = new FaultInjector(cfg.inject);
  }

  addSender(conn: BenchConn, cmdName: typeof Cmd.SEND_MESSAGE_P2P | typeof Cmd.SEND_MESSAGE_TOPIC, dest: string, recipients: readonly number[]): void {
    const s: Sender = { idx: conn.idx, conn, prefix: `${cmdName} ${dest} `, cmdName, dest, seq: 0, quota: Number.POSITIVE_INFINITY, inflight: 0 };
    this.senders.push(s);
    this.byIdx.set(conn.idx, s);
    this.checker.addSender(conn.idx, recipients);
  }

  /** The reply to a SEND: OK = durably stored (line codec) or written (packet codec). */
  onSendReply(conn: BenchConn, seq: number, sendUs: number, reply: Command): void {
    const s = this.byIdx.get(conn.idx);
    if (!s) return;
    const now = nowUs();
    this.lastProgressUs = now;
    s.inflight--;
    this.inflight--;
    if (reply.name === Cmd.OK) {
      this.checker.acked(s.idx, seq);
      if (sendUs >= this.warmEndUs) {
        this.ackLatency.record(now - sendUs);
        if (now <= this.cutoffUs) this.ackedInWindow++;
      }
    } else {
      this.checker.rejected(s.idx, seq);
      this.countError(reply.args[0] ?? reply.name);
    }
    if (this.running && this.cfg.rate === 0) this.sendNext(s, -1);
  }

  /** A RESP_MESSAGE_P2P / RESP_MESSAGE_TOPIC body received by client `recipient`. */
  onDelivery(recipient: number, from: string, body: string): void {
    const recvUs = nowUs();
    const f = decodeBody(body);
    if (!f || this.ids[f.sender] !== from) {
      this.checker.delivered(recipient, -1, 0); // misdelivered
      return;
    }
    const d: Delivery = { recipient, sender: f.sender, seq: f.seq, sendUs: f.sendUs, recvUs };
    if (this.injector.active) this.injector.feed(d, this.sink);
    else this.count(d);
  }

  countError(code: string): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** Send, stop, drain; resolves when the result is final. */
  async run(): Promise<LoadResult> {
    const { cfg } = this;
    const counted = cfg.messages > 0;
    if (counted) this.splitQuota(cfg.messages);
    const sendingDone = new Promise<void>((r) => (this.finishedSending = r));
    this.running = true;
    this.t0Us = nowUs();
    const warmupTimer = setTimeout(() => this.beginWindow(), cfg.warmupSec * 1000);
    if (cfg.warmupSec === 0) {
      clearTimeout(warmupTimer);
      this.beginWindow();
    }
    const stopTimer = counted ? null : setTimeout(() => this.stopSending(), (cfg.warmupSec + cfg.durationSec) * 1000);
    this.lastProgressUs = nowUs();
    const stallTimer = setInterval(() => {
      if (this.inflight > 0 && nowUs() - this.lastProgressUs > cfg.drainMs * 1000) {
        this.stalled = true;
        this.stopSending();
      }
    }, STALL_CHECK_MS);
    if (cfg.rate > 0) this.tick();
    else for (const s of this.senders) for (let i = 0; i < cfg.window && this.running; i++) this.sendNext(s, -1);
    await sendingDone;
    clearInterval(stallTimer);
    if (stopTimer) clearTimeout(stopTimer);
    clearTimeout(warmupTimer);
    const stoppedUs = nowUs();
    if (!counted) {
      this.cutoffUs = stoppedUs;
      this.hooks.end();
    }
    const drainEnd = await this.drain();
    const drainSec = (nowUs() - stoppedUs) / 1e6;
    if (counted) this.hooks.end();
    await new Promise((r) => setTimeout(r, LINGER_MS));
    this.injector.flush(this.sink);
    const endUs = counted ? Math.max(this.lastDeliveryUs, this.warmEndUs + 1) : stoppedUs;
    const windowSec = Math.max(1e-6, (endUs - this.warmEndUs) / 1e6);
    const issuedSec = Math.max(1e-6, (stoppedUs - this.t0Us) / 1e6);
    return {
      check: this.checker.report(),
      windowSec,
      ackedPerSec: this.ackedInWindow / windowSec,
      deliveredPerSec: this.deliveredInWindow / windowSec,
      offeredPerSec: cfg.rate,
      issuedPerSec: cfg.rate > 0 ? (this.issued - this.skipped) / issuedSec : 0,
      skippedBacklog: this.skipped,
      stalled: this.stalled,
      drainSec,
      drainEnd,
      latency: this.latency.summary(),
      ackLatency: this.ackLatency.summary(),
      errors: Object.fromEntries(this.errors),
    };
  }

  /** Wait for every reply and every owed delivery, or for a quiet drainMs, or for drainMaxMs. */
  private async drain(): Promise<LoadResult["drainEnd"]> {
    const { drainMs, drainMaxMs } = this.cfg;
    const capUs = nowUs() + drainMaxMs * 1000;
    this.lastProgressUs = Math.max(this.lastProgressUs, nowUs());
    for (;;) {
      if (this.inflight === 0 && this.checker.outstanding === 0) return "complete";
      const now = nowUs();
      if (now - this.lastProgressUs >= drainMs * 1000) return "quiet";
      if (now >= capUs) return "cap";
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  private beginWindow(): void {
    this.warmEndUs = nowUs();
    this.hooks.start();
  }

  private stopSending(): void {
    if (!this.running) return;
    this.running = false;
    this.finishedSending?.();
  }

  private splitQuota(total: number): void {
    const n = this.senders.length;
    this.senders.forEach((s, i) => (s.quota = Math.floor(total / n) + (i < total % n ? 1 : 0)));
  }

  /** Send the next message of `s`; sendUs < 0 means now. */
  private sendNext(s: Sender, sendUs: number): void {
    if (s.seq >= s.quota) {
      if (this.cfg.rate === 0 && this.senders.every((x) => x.seq >= x.quota)) this.stopSending();
      return;
    }
    const seq = ++s.seq;
    const t = sendUs < 0 ? nowUs() : sendUs;
    const body = encodeBody(s.idx, seq, t, this.cfg.bodyBytes);
    this.checker.sent(s.idx, seq);
    s.inflight++;
    this.inflight++;
    const cmd = s.conn.codec === "packet" ? { name: s.cmdName, args: [s.dest, body] } : null;
    s.conn.send(Kind.SEND, s.prefix + body + "\n", cmd, seq, t);
  }

  /** Paced mode: issue what is due since the start at cfg.rate, then come back in 1 ms. */
  private tick(): void {
    if (!this.running) return;
    const { rate, messages } = this.cfg;
    const due = Math.floor(((nowUs() - this.t0Us) * rate) / 1e6);
    const n = this.senders.length;
    while (this.issued < due) {
      if (messages > 0 && this.issued >= messages) {
        this.stopSending();
        return;
      }
      const s = this.senders[this.issued % n]!;
      const scheduledUs = this.t0Us + Math.round((this.issued * 1e6) / rate);
      this.issued++;
      if (s.inflight >= MAX_OUTSTANDING_PER_SENDER) this.skipped++;
      else this.sendNext(s, scheduledUs);
    }
    setTimeout(() => this.tick(), 1);
  }

  private count(d: Delivery): void {
    const v = this.checker.delivered(d.recipient, d.sender, d.seq);
    if (v !== Verdict.OK && v !== Verdict.OUT_OF_ORDER) return;
    this.lastDeliveryUs = d.recvUs;
    this.lastProgressUs = d.recvUs;
    if (d.sendUs >= this.warmEndUs) {
      this.latency.record(d.recvUs - d.sendUs);
      traceDelivery(d.recvUs, d.recvUs - d.sendUs);
      if (d.recvUs <= this.cutoffUs) this.deliveredInWindow++;
    }
  }
}

