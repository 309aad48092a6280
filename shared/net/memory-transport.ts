import type { Transport, TransportHandlers } from "./transport.js";

/**
 * Two connected in-memory transports, for tests that drive a connection or a whole msg_server
 * core without sockets (ws' duplex-pair idea). Delivery is asynchronous, one event-loop turn
 * later, like a socket's; bytes written count in the writer's `writableLength` until the peer
 * has taken them, so a paused peer makes the writer's backlog grow exactly as TCP would.
 */
export function memoryPair(): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport("10.0.0.1:1000");
  const b = new MemoryTransport("10.0.0.2:2000");
  a.peer = b;
  b.peer = a;
  return [a, b];
}

export class MemoryTransport implements Transport {
  readonly kind = "memory" as const;
  readonly framed = false;
  /** Set by memoryPair. */
  peer!: MemoryTransport;
  destroyed = false;
  private handlers: TransportHandlers | null = null;
  /** What the peer wrote to us and we have not delivered yet. */
  private inbox: (Buffer | string)[] = [];
  private inboxBytes = 0;
  private paused = false;
  private scheduled = false;
  private ending = false;

  constructor(private readonly addr: string) {}

  get writableLength(): number {
    return this.peer.inboxBytes;
  }

  remoteAddress(): string {
    return this.peer.addr;
  }

  attach(h: TransportHandlers): void {
    this.handlers = h;
    this.schedule();
  }

  write(data: string | Buffer): void {
    if (this.destroyed || this.ending || this.peer.destroyed) return;
    this.peer.receive(data);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  /** Close once the peer has taken what we wrote. */
  end(): void {
    this.ending = true;
    this.peer.endAfterInbox();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.inbox = [];
    this.inboxBytes = 0;
    setImmediate(() => this.handlers?.close());
    this.peer.destroy();
  }

  private peerEnding = false;

  private endAfterInbox(): void {
    this.peerEnding = true;
    this.schedule();
  }

  private receive(data: string | Buffer): void {
    this.inbox.push(data);
    this.inboxBytes += typeof data === "string" ? Buffer.byteLength(data) : data.length;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.destroyed) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.deliver();
    });
  }

  private deliver(): void {
    if (this.destroyed || !this.handlers) return;
    const hadBacklog = this.inboxBytes > 0;
    while (!this.paused && this.inbox.length > 0 && !this.destroyed) {
      const chunk = this.inbox.shift()!;
      this.inboxBytes -= typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.length;
      this.handlers.data(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
    }
    if (hadBacklog && this.inboxBytes === 0) this.peer.handlers?.drain();
    if (this.peerEnding && this.inbox.length === 0) this.destroy();
  }
}
