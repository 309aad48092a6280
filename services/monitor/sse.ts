import type { ServerResponse } from "node:http";
import type { Context } from "koa";
import type { Logger } from "../../shared/log/logger.js";

/**
 * A client whose socket has this much unsent data is not reading; it is dropped instead of
 * letting its buffer grow. Several ticks of a large cluster fit well under it.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Comment lines keep idle proxies from closing a stream between ticks. */
const KEEPALIVE_MS = 15_000;
/** Browsers (EventSource) wait this long before reconnecting after a drop. */
const RETRY_MS = 2000;

/**
 * Server-Sent Events fan-out for GET /api/events. One-way, plain HTTP, reconnect built into
 * browsers: all a live dashboard needs, without a WebSocket dependency.
 */
export class SseHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepalive: NodeJS.Timeout;

  constructor(
    private readonly maxStreams: number,
    private readonly log: Logger,
  ) {
    this.keepalive = setInterval(() => this.write(":\n\n"), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Koa handler: takes the response over and keeps it open. `first` is sent at once. */
  open(ctx: Context, first?: { event: string; data: unknown }): void {
    if (this.clients.size >= this.maxStreams) {
      ctx.status = 503;
      ctx.set("Retry-After", "5");
      ctx.body = { error: "too many open event streams", max: this.maxStreams };
      return;
    }
    ctx.respond = false;
    const res = ctx.res;
    ctx.req.socket.setNoDelay(true);
    ctx.req.socket.setTimeout(0);
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      // nginx buffers responses by default, which would hold events back.
      "X-Accel-Buffering": "no",
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    if (first) res.write(frame(first.event, first.data));
    this.clients.add(res);
    const drop = () => this.clients.delete(res);
    res.once("close", drop);
    res.once("error", drop);
    this.log.debug({ streams: this.clients.size }, "event stream opened");
  }

  broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.write(frame(event, data));
  }

  /** End every stream (shutdown); the server can then close. */
  close(): void {
    clearInterval(this.keepalive);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(chunk: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        this.log.warn({ buffered: res.writableLength }, "event stream client is not reading; dropping it");
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(chunk);
    }
  }
}

/** One event; JSON has no raw newlines, so a single data line is enough. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
