import type { Socket } from "node:net";
import { WebSocket } from "ws";
import type { Transport, TransportHandlers } from "./transport.js";

/** RFC 6455 close codes we send. */
export const WsClose = {
  NORMAL: 1000,
  /** The peer sent a data type we do not accept (binary). */
  UNSUPPORTED_DATA: 1003,
} as const;

/**
 * A server-side WebSocket (the `ws` library) as a message Transport: each text message is one
 * `data` call with a string, and each "\n"-terminated line written is sent as one text message
 * (the connection coalesces a turn's output into one string; the JSON dialect ends every message
 * with "\n", which JSON never contains raw). The lines of one write go out corked, in one
 * system call.
 *
 * Binary messages are handed on as Buffers so the dialect rejects them with its coded error; the
 * close that follows then carries 1003. Oversized messages are closed by ws itself (maxPayload,
 * 1009), invalid UTF-8 too (1007). Pings and pongs count as inbound activity, and ws answers
 * pings by itself.
 */
export class WsTransport implements Transport {
  readonly kind = "ws" as const;
  readonly framed = true;
  private closeCode: number = WsClose.NORMAL;
  private closeReason = "";

  constructor(
    private readonly ws: WebSocket,
    /** The socket under ws (the upgraded request's), for corking, drain events and the peer address. */
    private readonly socket: Socket,
  ) {}

  get writableLength(): number {
    return this.ws.bufferedAmount;
  }

  get destroyed(): boolean {
    return this.ws.readyState === WebSocket.CLOSED || this.socket.destroyed;
  }

  remoteAddress(): string {
    return `${this.socket.remoteAddress ?? "?"}:${this.socket.remotePort ?? 0}`;
  }

  write(data: string | Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const text = typeof data === "string" ? data : data.toString("utf8");
    this.socket.cork();
    let start = 0;
    while (start < text.length) {
      const nl = text.indexOf("\n", start);
      const end = nl === -1 ? text.length : nl;
      if (end > start) this.ws.send(text.slice(start, end));
      start = end + 1;
    }
    this.socket.uncork();
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  /** Close handshake after what was written; ws waits for the peer's close frame (the connection destroys us if it lingers). */
  end(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(this.closeCode, this.closeReason);
  }

  destroy(): void {
    this.ws.terminate();
  }

  /** A WebSocket ping; the peer's pong is inbound activity. */
  ping(): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.ping();
  }

  attach(h: TransportHandlers): void {
    this.ws.on("message", (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      if (!isBinary) {
        h.data(buf.toString("utf8"));
        return;
      }
      this.closeCode = WsClose.UNSUPPORTED_DATA;
      this.closeReason = "binary messages are not accepted";
      h.data(buf);
    });
    const alive = () => h.activity?.();
    this.ws.on("ping", alive);
    this.ws.on("pong", alive);
    this.socket.on("drain", () => h.drain());
    // ws emits 'error' for protocol violations (too large, bad UTF-8) and closes; 'close' follows.
    this.ws.on("error", (err: Error) => h.error(err));
    this.ws.on("close", () => h.close());
  }
}
