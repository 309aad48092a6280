/**
 * Opt-in runtime trace of a service (issue 13): GC pauses, event-loop lag and LMDB commit batches
 * as JSON lines, one event per line, each with `t` = wall-clock Unix time in ms (fractional, so
 * processes can be put on one time axis) and `type`. Off unless FISHCHAT_TRACE_FILE names a file
 * (`{service}` and `{pid}` in it are replaced, so one value serves a whole cluster); when off,
 * nothing is installed and nothing runs.
 *
 * Lines are buffered and appended every FLUSH_MS by an asynchronous write, so the trace never
 * blocks the loop it measures. The buffer is bounded: past MAX_BUFFER_BYTES events are dropped,
 * counted, and the count is written as a `dropped` event with the next flush.
 */
import { closeSync, openSync, write, writeSync } from "node:fs";

const FLUSH_MS = 250;
const MAX_BUFFER_BYTES = 4 * 1024 * 1024;

export interface TraceEvent {
  type: string;
  [field: string]: string | number | boolean;
}

/** Wall-clock now in ms with sub-ms precision: performance.timeOrigin + performance.now(). */
export const traceNow = (): number => performance.timeOrigin + performance.now();

export class Tracer {
  private buf: string[] = [];
  private bytes = 0;
  private dropped = 0;
  private writing = false;
  private readonly fd: number;
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(
    readonly file: string,
    readonly service: string,
  ) {
    this.fd = openSync(file, "a", 0o600);
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
    this.emit({ type: "start", service, pid: process.pid });
  }

  /** Record an event now (or at `t`, a traceNow() value). */
  emit(e: TraceEvent, t = traceNow()): void {
    if (this.closed) return;
    const line = JSON.stringify({ t: Math.round(t * 1000) / 1000, ...e });
    if (this.bytes + line.length > MAX_BUFFER_BYTES) {
      this.dropped++;
      return;
    }
    this.buf.push(line);
    this.bytes += line.length + 1;
  }

  private flush(): void {
    if (this.writing || this.buf.length === 0) return;
    if (this.dropped > 0) {
      this.buf.push(JSON.stringify({ t: traceNow(), type: "dropped", events: this.dropped }));
      this.dropped = 0;
    }
    const chunk = `${this.buf.join("\n")}\n`;
    this.buf = [];
    this.bytes = 0;
    this.writing = true;
    write(this.fd, chunk, () => {
      this.writing = false;
      if (this.closed) this.closeFd();
    });
  }

  /** Write what is buffered synchronously and close the file (service shutdown). Readers sort by `t`. */
  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    this.emit({ type: "stop" });
    this.closed = true;
    const chunk = this.buf.length > 0 ? `${this.buf.join("\n")}\n` : "";
    this.buf = [];
    try {
      if (chunk) writeSync(this.fd, chunk);
    } catch {
      // a trace is best effort: the service's shutdown must not fail because of it
    }
    // A write still in flight closes the file when it completes.
    if (!this.writing) this.closeFd();
  }

  private closeFd(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
