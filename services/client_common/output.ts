import { clearLine, cursorTo, type Interface } from "node:readline";

/**
 * The terminal UI of the clients: one record per line. Records go to stdout, errors to stderr as
 * `error <CODE> <message>`. When a readline prompt is on screen, a record is written above it and
 * the prompt (with what the user typed so far) is redrawn.
 */
export class Output {
  private rl: Interface | null = null;

  constructor(
    readonly verbose = false,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Redraw this readline prompt after each record (interactive terminals only). */
  attach(rl: Interface | null): void {
    this.rl = rl;
  }

  line(text: string): void {
    this.write(this.stdout, text);
  }

  /** Only with --verbose. */
  debug(text: string): void {
    if (this.verbose) this.write(this.stdout, text);
  }

  error(code: string, message: string): void {
    this.write(this.stderr, `error ${code} ${oneLine(message)}`);
  }

  private write(stream: NodeJS.WriteStream, text: string): void {
    const rl = this.rl;
    if (rl && stream.isTTY) {
      clearLine(stream, 0);
      cursorTo(stream, 0);
      stream.write(`${text}\n`);
      rl.prompt(true);
      return;
    }
    stream.write(`${text}\n`);
  }
}

// Control characters, DEL, C1 controls and the Unicode line/paragraph separators.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A message text as shown on one output line: as is, unless it holds a control character or a
 * line break (or starts with `"`), in which case it is written as a JSON string literal. So every
 * record stays one line and a script can always recover the exact text.
 */
export function showText(s: string): string {
  return UNSAFE.test(s) || s.startsWith('"') ? JSON.stringify(s) : s;
}

/**
 * The inverse for typed input: text that is exactly one JSON string literal is decoded, so
 * `bob "two\nlines"` sends a newline; anything else is sent as typed.
 */
export function parseText(s: string): string {
  if (s.length >= 2 && s.startsWith('"') && s.endsWith('"')) {
    try {
      const v: unknown = JSON.parse(s);
      if (typeof v === "string") return v;
    } catch {
      // not a JSON literal: literal text
    }
  }
  return s;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, " ");
}
