/**
 * Splits a byte stream into text lines. Lines end with LF; one CR before the LF is dropped too.
 *
 * Bounded: a line longer than `maxLineBytes` (terminator excluded) fails as soon as the bytes
 * waiting for their LF exceed the limit, so a peer cannot make us buffer more than one limit's
 * worth. The complete lines of a chunk are validated and decoded straight from it in one pass
 * (several times faster than line by line); only the trailing partial line is copied, because
 * the caller may reuse the chunk's memory. Errors are reported in stream order whatever the
 * chunking: the first bad line in the stream decides the error. The copy goes into one
 * buffer that doubles as needed: a list of pieces would cost an object per byte to a peer that
 * sends one byte per segment.
 */
import { isUtf8 } from "node:buffer";
import { ErrorCode, ProtocolError } from "../errors.js";

const LF = 0x0a;
const CR = 0x0d;
const MIN_PARTIAL_CAPACITY = 256;

export class LineFramer {
  private readonly maxLineBytes: number;
  /** The current partial line is partial[0, partialLength). */
  private partial: Buffer | null = null;
  private partialLength = 0;
  private failure: ProtocolError | null = null;

  constructor(maxLineBytes: number) {
    if (!Number.isInteger(maxLineBytes) || maxLineBytes < 1) {
      throw new RangeError(`maxLineBytes must be a positive integer, got ${maxLineBytes}`);
    }
    this.maxLineBytes = maxLineBytes;
  }

  /** Bytes held for a line whose LF has not arrived yet. */
  get bufferedBytes(): number {
    return this.partialLength;
  }

  /**
   * Feed bytes; get back every line they complete ("" for an empty line). Throws ProtocolError
   * IM_ERR_LINE_TOO_LONG or IM_ERR_BAD_LINE (invalid UTF-8); after that the framer is dead and
   * every later call throws the same error.
   */
  push(chunk: Buffer): string[] {
    if (this.failure) throw this.failure;
    try {
      return this.split(chunk);
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.failure = err;
        this.partial = null;
        this.partialLength = 0;
      }
      throw err;
    }
  }

  private split(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    let lf = chunk.indexOf(LF);
    if (lf !== -1 && this.partialLength > 0) {
      lines.push(this.completeLine(chunk, 0, lf));
      start = lf + 1;
      lf = chunk.indexOf(LF, start);
    }
    if (lf !== -1) {
      // The complete lines left in the chunk: check every length first (in stream order, so a
      // too-long line fails where it is), then validate and decode the whole run in one go.
      const runStart = start;
      let last = lf;
      for (;;) {
        if (this.isTooLong(chunk, start, lf)) {
          // An earlier line with invalid UTF-8 comes first in the stream: report that.
          if (!isUtf8(chunk.subarray(runStart, start))) throw this.badUtf8();
          throw this.tooLong();
        }
        start = lf + 1;
        last = lf;
        lf = chunk.indexOf(LF, start);
        if (lf === -1) break;
      }
      const run = chunk.subarray(runStart, last);
      if (!isUtf8(run)) throw this.badUtf8();
      for (const line of run.toString("utf8").split("\n")) {
        lines.push(line.endsWith("\r") ? line.slice(0, -1) : line);
      }
    }
    if (start < chunk.length) this.append(chunk, start, chunk.length);
    return lines;
  }

  private isTooLong(chunk: Buffer, start: number, lf: number): boolean {
    let end = lf;
    if (end > start && chunk[end - 1] === CR) end--;
    return end - start > this.maxLineBytes;
  }

  /** The line made of the partial bytes plus chunk[start, lf). */
  private completeLine(chunk: Buffer, start: number, lf: number): string {
    let bytes: Buffer;
    if (this.partialLength === 0) {
      bytes = chunk.subarray(start, lf);
    } else {
      this.append(chunk, start, lf);
      bytes = (this.partial as Buffer).subarray(0, this.partialLength);
      this.partial = null; // the decoded string does not share memory with it
      this.partialLength = 0;
    }
    let end = bytes.length;
    if (end > 0 && bytes[end - 1] === CR) end--;
    if (end > this.maxLineBytes) throw this.tooLong();
    const body = bytes.subarray(0, end);
    if (!isUtf8(body)) throw this.badUtf8();
    return body.toString("utf8");
  }

  /** Copy chunk[from, to) after the partial bytes, failing before storing past the limit. */
  private append(chunk: Buffer, from: number, to: number): void {
    if (from === to) return;
    const total = this.partialLength + (to - from);
    // One byte over the limit is allowed while it is a CR: it may be the CR of a CRLF.
    if (total > this.maxLineBytes && !(total === this.maxLineBytes + 1 && chunk[to - 1] === CR)) {
      throw this.tooLong();
    }
    let buf = this.partial;
    if (buf === null || buf.length < total) {
      const capacity = Math.min(this.maxLineBytes + 1, Math.max(total, MIN_PARTIAL_CAPACITY, 2 * (buf?.length ?? 0)));
      const grown = Buffer.allocUnsafe(capacity);
      if (buf !== null) buf.copy(grown, 0, 0, this.partialLength);
      this.partial = buf = grown;
    }
    chunk.copy(buf, this.partialLength, from, to);
    this.partialLength = total;
  }

  private badUtf8(): ProtocolError {
    return new ProtocolError(ErrorCode.IM_ERR_BAD_LINE, "invalid UTF-8");
  }

  private tooLong(): ProtocolError {
    return new ProtocolError(ErrorCode.IM_ERR_LINE_TOO_LONG, `line longer than ${this.maxLineBytes} bytes`);
  }
}
