import type { Command } from "../../shared/protocol/commands.js";
import { ErrorCode, toImError } from "../../shared/errors.js";
import type { Output } from "./output.js";
import type { ClientSession } from "./session.js";
import { ExitCode } from "./cli.js";

export interface AppOptions {
  /** Reading commands from a terminal. */
  interactive: boolean;
  /** Stay this long after the input is done (ms). */
  waitMs?: number;
  /** Stay until this many messages were shown (fail after waitMs, default 10 s). */
  expect?: number;
}

const DEFAULT_EXPECT_WAIT_MS = 10_000;
/** Remembered message ids, to show a message redelivered after a re-login only once. */
const SEEN_MAX = 10_000;

/**
 * What both clients share around a session: status lines, errors, exit codes, outstanding
 * replies, duplicate suppression and the end of a scripted run.
 */
export class ClientApp {
  failed = false;
  received = 0;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly seen = new Set<string>();
  private receivedWaiter: (() => void) | null = null;
  private cancelPause: (() => void) | null = null;
  private exiting = false;
  private onExit: (() => void)[] = [];

  constructor(
    readonly out: Output,
    readonly session: ClientSession,
    readonly opts: AppOptions,
  ) {
    session.on("connected", (addr: string, again: boolean) => out.line(`${again ? "reconnected" : "connected"} to ${addr} as ${session.clientId}`));
    session.on("retrying", (ms: number, why: string) => out.line(`retrying in ${ms} ms (${why})`));
    session.on("reconnecting", (ms: number, why: string) => out.line(`reconnecting in ${ms} ms (${why})`));
    session.on("kicked", (why: string) => {
      out.error(ErrorCode.IM_ERR_KICKED, `${why}; not reconnecting`);
      this.exit(ExitCode.KICKED);
    });
    session.on("fatal", (err: Error) => {
      this.fail(err);
      this.exit(ExitCode.FAILED);
    });
    session.on("asyncError", (cmd: Command) => out.debug(`error ${cmd.args[0] ?? ""} ${cmd.args[1] ?? ""}`));
  }

  /** Wait for a live connection at most this long in scripted runs; forever on a terminal. */
  get readyWaitMs(): number | undefined {
    return this.opts.interactive ? undefined : this.session.opts.connectTimeoutMs;
  }

  /** Keep a reply we must wait for before exiting (acks). Failures are reported at verbose level. */
  track(p: Promise<unknown>): void {
    const q = p.catch((err: unknown) => {
      const e = toImError(err);
      this.out.debug(`error ${e.code} ${e.message}`);
    });
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
  }

  /** Report a failed command: `error <CODE> <message>` on stderr; a scripted run then exits 1. */
  fail(err: unknown): void {
    const e = toImError(err);
    if (this.session.kicked !== null && e.code === ErrorCode.IM_ERR_KICKED) return;
    // A person at a terminal sees the error and carries on; only scripts get a failing exit code.
    if (!this.opts.interactive) this.failed = true;
    this.out.error(e.code, e.message);
  }

  /** True the first time a message id is seen (a re-login may deliver unacknowledged ones again). */
  firstSight(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= SEEN_MAX) this.seen.delete(this.seen.values().next().value as string);
    this.seen.add(key);
    return true;
  }

  /** Count a shown message (for --expect). */
  countReceived(): void {
    this.received++;
    if (this.opts.expect !== undefined && this.received >= this.opts.expect) this.receivedWaiter?.();
  }

  /** After the input is done: wait for replies, then --expect / --wait-ms; resolves with the exit code. */
  async finish(): Promise<number> {
    await this.drain();
    const { expect, waitMs } = this.opts;
    if (expect !== undefined) {
      // --wait-ms is then only the time limit: leave as soon as the messages are there.
      const limit = waitMs ?? DEFAULT_EXPECT_WAIT_MS;
      if (this.received < expect && !(await this.pause(limit, true)) && !this.exiting) {
        this.failed = true;
        this.out.error(ErrorCode.IM_ERR_TIMEOUT, `expected ${expect} messages within ${limit} ms, got ${this.received}`);
      }
    } else if (waitMs !== undefined && waitMs > 0) {
      await this.pause(waitMs, false);
    }
    await this.drain();
    return this.failed ? ExitCode.FAILED : ExitCode.OK;
  }

  /** Sleep ms; with untilExpected, resolve true as soon as --expect is met. exit() ends it early. */
  private pause(ms: number, untilExpected: boolean): Promise<boolean> {
    if (this.exiting) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.receivedWaiter = null;
        this.cancelPause = null;
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), ms);
      if (untilExpected) this.receivedWaiter = () => done(true);
      this.cancelPause = () => done(false);
    });
  }

  private async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  /** Run fn at exit (close stdin, ...). */
  atExit(fn: () => void): void {
    this.onExit.push(fn);
  }

  /** Close everything and leave with this code once stdout and the socket are flushed. */
  exit(code: number): void {
    if (this.exiting) return;
    this.exiting = true;
    for (const fn of this.onExit) fn();
    this.session.close();
    this.cancelPause?.();
    process.exitCode = code;
    // Normally the event loop empties by itself; this only bounds a stuck flush.
    setTimeout(() => process.exit(code), 1500).unref();
  }
}
