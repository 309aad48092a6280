import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../shared/log/logger.js";

/** A logger whose JSON lines are kept in memory, so tests can assert what was (and was not) logged. */
export function captureLogger(level = "debug"): { log: Logger; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ service: "test", level, destination: sink });
  const text = () => chunks.join("");
  const lines = () =>
    text()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, text };
}
