/**
 * The body of every benchmark message: `<sender>.<seq>.<sendUs>` then `x` padding up to the
 * requested size. sender is the client's index in the run, seq its per-sender sequence (1, 2, ...)
 * and sendUs the send time in microseconds on this process's monotonic clock (performance.now()),
 * which is valid because the tool both sends and receives. Only characters the line codec writes
 * bare, so a body costs no quoting and reads back unchanged.
 */
import { performance } from "node:perf_hooks";

export interface BodyFields {
  sender: number;
  seq: number;
  sendUs: number;
}

const paddings: string[] = [];

function padding(n: number): string {
  let p = paddings[n];
  if (p === undefined) {
    p = "x".repeat(n);
    paddings[n] = p;
  }
  return p;
}

/** Microseconds on the monotonic clock shared by senders and receivers of this process. */
export function nowUs(): number {
  return Math.round(performance.now() * 1000);
}

export function encodeBody(sender: number, seq: number, sendUs: number, size: number): string {
  const head = `${sender}.${seq}.${sendUs}`;
  return head.length >= size ? head : head + "." + padding(size - head.length - 1);
}

/** null when the body is not one of ours (then the delivery counts as misdelivered). */
export function decodeBody(body: string): BodyFields | null {
  const a = body.indexOf(".");
  const b = a < 0 ? -1 : body.indexOf(".", a + 1);
  if (b < 0) return null;
  let c = body.indexOf(".", b + 1);
  if (c < 0) c = body.length;
  const sender = toInt(body, 0, a);
  const seq = toInt(body, a + 1, b);
  const sendUs = toInt(body, b + 1, c);
  if (sender < 0 || seq < 0 || sendUs < 0) return null;
  return { sender, seq, sendUs };
}

/** Decimal digits in s[from, to) as a number, or -1. Hand-rolled: no substring per field. */
function toInt(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
