import type { Socket } from "node:net";
import { TLSSocket } from "node:tls";
import type { Transport, TransportHandlers } from "./transport.js";

export interface TcpTransportOptions {
  /**
   * TCP keepalive, only where nothing else notices a dead peer: clients are covered by the idle
   * timeout, links by their pings. (One setsockopt less per login.)
   */
  keepAlive?: boolean;
}

/** A TCP (or TLS) socket as a Transport. */
export class TcpTransport implements Transport {
  readonly kind;
  readonly framed = false;

  constructor(
    private readonly socket: Socket,
    opts: TcpTransportOptions = {},
  ) {
    this.kind = socket instanceof TLSSocket ? ("tls" as const) : ("tcp" as const);
    socket.setNoDelay(true);
    if (opts.keepAlive) socket.setKeepAlive(true, 30_000);
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  peerCertified(): boolean {
    return this.socket instanceof TLSSocket && this.socket.authorized;
  }

  remoteAddress(): string {
    return `${this.socket.remoteAddress ?? "?"}:${this.socket.remotePort ?? 0}`;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  attach(h: TransportHandlers): void {
    this.socket.on("data", h.data);
    this.socket.on("drain", h.drain);
    // Errors are always followed by 'close', where the connection learns it is gone.
    this.socket.on("error", h.error);
    this.socket.on("close", h.close);
  }
}
