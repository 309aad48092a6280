import { ErrorCode, ImError } from "../errors.js";

/** What the sweeper needs of a connection (a Connection has all of it). */
export interface Sweepable {
  readonly closed: boolean;
  readonly openedAtMs: number;
  readonly lastInboundMs: number;
  readonly lastDrainMs: number;
  readonly outboundBytes: number;
  close(reason: ImError): void;
}

export interface IdlePolicy<C> {
  /** Close when nothing was received for this long. */
  idleMs(conn: C): number;
  /**
   * Close when this long has passed since the connection opened, however slowly it trickles
   * bytes; 0 for none. (A pre-login deadline: counted from connect, so a slowloris cannot hold a
   * connection open one byte at a time.)
   */
  deadlineMs?(conn: C): number;
  /** Close when output has been waiting this long without the peer reading any of it. */
  stalledMs: number;
  onIdle?(conn: C, reason: "idle" | "deadline" | "stalled"): void;
}

/**
 * One timer per process that closes idle, overdue and frozen connections. The gateway, the
 * msg_server and the admin ports of router, manager and monitor all sweep through this.
 */
export class IdleSweeper<C extends Sweepable> {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly conns: Iterable<C>,
    private readonly policy: IdlePolicy<C>,
    private readonly everyMs = 1000,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.sweep(Date.now()), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  sweep(now: number): void {
    const p = this.policy;
    for (const conn of this.conns) {
      if (conn.closed) continue;
      const deadline = p.deadlineMs?.(conn) ?? 0;
      const idle = p.idleMs(conn);
      if (deadline > 0 && now - conn.openedAtMs > deadline) {
        p.onIdle?.(conn, "deadline");
        conn.close(new ImError(ErrorCode.IM_ERR_IDLE_TIMEOUT, `not done within ${deadline} ms of connecting`));
      } else if (now - conn.lastInboundMs > idle) {
        p.onIdle?.(conn, "idle");
        conn.close(new ImError(ErrorCode.IM_ERR_IDLE_TIMEOUT, `nothing received for ${idle} ms`));
      } else if (conn.outboundBytes > 0 && now - conn.lastDrainMs > p.stalledMs) {
        // The peer stopped reading: its buffer has not drained for a whole period.
        p.onIdle?.(conn, "stalled");
        conn.close(new ImError(ErrorCode.IM_ERR_SLOW_CONSUMER, "peer stopped reading"));
      }
    }
  }
}
