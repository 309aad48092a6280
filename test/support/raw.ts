import { connect, type Socket } from "node:net";
import { splitHostPort } from "../../shared/config/common.js";
import { Decoder } from "../../shared/protocol/codec.js";
import type { Command } from "../../shared/protocol/commands.js";
import { encodePacket } from "../../shared/protocol/packet-codec.js";
import { waitFor } from "./ports.js";

/**
 * A raw TCP peer for tests that must send exact bytes (garbage, over-long lines, v1 frames) and
 * look at exactly what comes back, with no client-library behaviour in between.
 */
export class RawPeer {
  readonly received: Command[] = [];
  /** Every byte received, for byte-exact checks. */
  bytes: Buffer = Buffer.alloc(0);
  closed = false;
  private readonly decoder = new Decoder({ maxLineBytes: 16 * 1024 * 1024, maxFrameBytes: 16 * 1024 * 1024 });

  private constructor(readonly socket: Socket) {
    socket.on("data", (b: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, b]);
      for (const item of this.decoder.push(b)) if (!(item instanceof Error)) this.received.push(item);
    });
    socket.on("close", () => {
      this.closed = true;
    });
    socket.on("error", () => undefined);
  }

  static async open(addr: string): Promise<RawPeer> {
    const { host, port } = splitHostPort(addr);
    const s = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      s.once("connect", () => resolve());
      s.once("error", reject);
    });
    return new RawPeer(s);
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Send a v1 packet frame. */
  packet(name: string, args: string[]): void {
    this.socket.write(encodePacket({ name, args }));
  }

  /** Wait for the first received command (after `from`) matching the predicate. */
  async next(pred: (c: Command) => boolean, timeoutMs = 5000, from = 0): Promise<Command> {
    return waitFor("a matching command", () => this.received.slice(from).find(pred), timeoutMs, 10);
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await waitFor("the server to close the connection", () => this.closed, timeoutMs, 10);
  }

  close(): void {
    this.socket.destroy();
  }
}
