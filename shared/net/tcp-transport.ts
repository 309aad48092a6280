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
    // Shared listeners that find the handlers on the socket: four closures less per connection.
    (this.socket as HandledSocket)[HANDLERS] = h;
    this.socket.on("data", onSocketData);
    this.socket.on("drain", onSocketDrain);
    // Errors are always followed by 'close', where the connection learns it is gone.
    this.socket.on("error", onSocketError);
    this.socket.on("close", onSocketClose);
  }
}

const HANDLERS = Symbol("fishchat.transportHandlers");
type HandledSocket = Socket & { [HANDLERS]: TransportHandlers };

// EventEmitter calls a listener with `this` set to the emitter: the socket.
function onSocketData(this: HandledSocket, chunk: Buffer): void {
  this[HANDLERS].data(chunk);
}
function onSocketDrain(this: HandledSocket): void {
  this[HANDLERS].drain();
}
function onSocketError(this: HandledSocket, err: Error): void {
  this[HANDLERS].error(err);
}
function onSocketClose(this: HandledSocket): void {
  this[HANDLERS].close();
}
