/**
 * What a Connection needs from whatever carries its bytes: a TCP socket, a TLS socket, a
 * WebSocket, or an in-memory pair in tests. The connection core never imports `net`; adapters
 * (tcp-transport.ts, memory-transport.ts, later the WebSocket one) implement this and nothing more.
 */
/**
 * Transports call these as methods of the object they were given (`h.data(chunk)`), never
 * detached: the connection passes one object with its methods on a prototype, not five closures.
 */
export interface TransportHandlers {
  /** Bytes of a stream, or one whole message of a message transport (see `framed`). */
  data(chunk: Buffer | string): void;
  /** Everything written so far has been handed to the peer (or the kernel). */
  drain(): void;
  /** A transport error; `close` follows. For debug logs only. */
  error(err: Error): void;
  /** Gone for good, whatever the reason; called once. */
  close(): void;
  /** Inbound traffic that carries no data (a WebSocket ping or pong): the peer is alive. */
  activity?(): void;
}

export type TransportKind = "tcp" | "tls" | "ws" | "memory";

export interface Transport {
  readonly kind: TransportKind;
  /** True when payloads arrive as whole messages (WebSocket) rather than as a byte stream. */
  readonly framed: boolean;
  /** Bytes written and not yet taken by the peer or the kernel. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  /** "ip:port" of the peer; may cost a system call, so callers cache it. */
  remoteAddress(): string;
  /** TLS with a client certificate that chains to our CA (mutual TLS); false for every other transport. */
  peerCertified?(): boolean;
  write(data: string | Buffer): void;
  /** Stop delivering data events until resume() (inbound backpressure). */
  pause(): void;
  resume(): void;
  /** Close after what was written has gone out. */
  end(): void;
  /** Close now, dropping unsent output. */
  destroy(): void;
  /** Start delivering events to the connection; called once, right after construction. */
  attach(handlers: TransportHandlers): void;
}
