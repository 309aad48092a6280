import { createInterface, type Interface } from "node:readline";
import type { Output } from "./output.js";

/**
 * Lines from stdin, one at a time, in order. On a terminal it shows a prompt and redraws it
 * around output; on a pipe or file it just queues lines until EOF (null).
 */
export class LineInput {
  readonly tty: boolean;
  private readonly rl: Interface;
  private readonly queue: string[] = [];
  private waiter: ((line: string | null) => void) | null = null;
  private ended = false;
  private sigint: (() => void) | null = null;

  constructor(
    private readonly out: Output,
    stdin: NodeJS.ReadStream = process.stdin,
  ) {
    this.tty = Boolean(stdin.isTTY);
    this.rl = createInterface({ input: stdin, output: this.tty ? process.stdout : undefined, terminal: this.tty, crlfDelay: Infinity });
    this.rl.setPrompt("");
    this.rl.on("line", (line) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(line);
      } else this.queue.push(line);
    });
    this.rl.on("close", () => {
      this.ended = true;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(null);
      }
    });
    this.rl.on("SIGINT", () => (this.sigint ? this.sigint() : this.close()));
    if (this.tty) out.attach(this.rl);
  }

  /** Ctrl-C on a terminal. */
  onInterrupt(fn: () => void): void {
    this.sigint = fn;
  }

  /** The prompt readline keeps under the output (terminals only; "" hides it). */
  setPrompt(p: string): void {
    this.rl.setPrompt(p);
  }

  /** The next line (a trailing CR removed), or null at EOF. */
  next(): Promise<string | null> {
    const line = this.queue.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(null);
    if (this.tty) this.rl.prompt(true);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** The next line without consuming it. */
  async peek(): Promise<string | null> {
    const line = await this.next();
    if (line !== null) this.queue.unshift(line);
    return line;
  }

  /** Print a v1-style question on its own line, then read the answer (trimmed), or null at EOF. */
  async ask(question: string): Promise<string | null> {
    this.out.line(question);
    const line = await this.next();
    return line === null ? null : line.trim();
  }

  close(): void {
    this.out.attach(null);
    this.rl.close();
  }
}
