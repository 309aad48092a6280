import { createHmac, randomUUID } from "node:crypto";
import type { Logger } from "../../shared/log/logger.js";
import { Backoff } from "../../shared/net/backoff.js";

export type WebhookEventType = "login" | "logout" | "message.offline";

export interface WebhookOptions {
  url: string;
  secret: string;
  events: readonly WebhookEventType[];
  timeoutMs: number;
  maxAttempts: number;
  retryMinMs: number;
  retryMaxMs: number;
  concurrency: number;
  maxQueue: number;
  maxQueueBytes: number;
  log: Logger;
}

interface Pending {
  id: string;
  type: WebhookEventType;
  body: string;
  attempts: number;
  backoff: Backoff;
  /** Not before (ms): a retry waits for its backoff. */
  dueMs: number;
}

/** `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>"): what X-FishChat-Signature carries. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`;
}

/**
 * The webhook: events POSTed as JSON to the configured URL, signed (X-FishChat-Signature over
 * the timestamp and the body, so a captured request cannot be replayed later with a new time),
 * retried with exponential backoff and jitter on network errors, timeouts, 408, 429 and 5xx,
 * dropped (with a warning) after maxAttempts or on another 4xx. The queue is bounded by count
 * and bytes: when full, new events are dropped and counted, never the process's memory.
 * Delivery is at least once (a POST that timed out may have arrived): the backend dedups by
 * the event id (X-FishChat-Delivery).
 */
export class Webhook {
  private readonly queue: Pending[] = [];
  private bytes = 0;
  private inFlight = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  readonly counts = { queued: 0, delivered: 0, dropped: 0, failedAttempts: 0 };

  constructor(private readonly o: WebhookOptions) {}

  wants(type: WebhookEventType): boolean {
    return this.o.events.includes(type);
  }

  /** Queue an event; false when it is not wanted or the queue is full (it is dropped). */
  emit(type: WebhookEventType, data: Record<string, unknown>): boolean {
    if (this.stopped || !this.wants(type)) return false;
    const id = randomUUID();
    const body = JSON.stringify({ id, type, ts: Date.now(), data });
    const size = Buffer.byteLength(body);
    if (this.queue.length >= this.o.maxQueue || this.bytes + size > this.o.maxQueueBytes) {
      this.counts.dropped++;
      this.o.log.warn({ type, queued: this.queue.length, bytes: this.bytes }, "webhook queue full; event dropped");
      return false;
    }
    this.queue.push({ id, type, body, attempts: 0, backoff: new Backoff(this.o.retryMinMs, this.o.retryMaxMs), dueMs: 0 });
    this.bytes += size;
    this.counts.queued++;
    this.pump();
    return true;
  }

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  private pump(): void {
    if (this.stopped) return;
    const now = Date.now();
    while (this.inFlight < this.o.concurrency) {
      const i = this.queue.findIndex((p) => p.dueMs <= now);
      if (i < 0) break;
      const [p] = this.queue.splice(i, 1);
      this.inFlight++;
      void this.attempt(p!).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
    this.schedule();
  }

  /** Wake up for the earliest retry that is not due yet. */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queue.length === 0 || this.inFlight >= this.o.concurrency) return;
    const due = Math.min(...this.queue.map((p) => p.dueMs));
    this.timer = setTimeout(() => this.pump(), Math.max(0, due - Date.now()));
    this.timer.unref();
  }

  private async attempt(p: Pending): Promise<void> {
    p.attempts++;
    const ts = String(Math.floor(Date.now() / 1000));
    let status = 0;
    try {
      const res = await fetch(this.o.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "FishChat-Webhook/1",
          "x-fishchat-event": p.type,
          "x-fishchat-delivery": p.id,
          "x-fishchat-timestamp": ts,
          "x-fishchat-signature": signature(this.o.secret, ts, p.body),
        },
        body: p.body,
        signal: AbortSignal.timeout(this.o.timeoutMs),
        redirect: "manual",
      });
      status = res.status;
      await res.body?.cancel();
    } catch (err) {
      this.o.log.debug({ err, id: p.id, attempt: p.attempts }, "webhook POST failed");
    }
    if (status >= 200 && status < 300) {
      this.counts.delivered++;
      this.bytes -= Buffer.byteLength(p.body);
      return;
    }
    this.counts.failedAttempts++;
    const retriable = status === 0 || status === 408 || status === 429 || status >= 500;
    if (!retriable || p.attempts >= this.o.maxAttempts) {
      this.counts.dropped++;
      this.bytes -= Buffer.byteLength(p.body);
      this.o.log.warn({ id: p.id, type: p.type, status, attempts: p.attempts }, "webhook event dropped");
      return;
    }
    p.dueMs = Date.now() + p.backoff.next();
    this.queue.push(p);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
