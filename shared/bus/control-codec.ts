import type { Logger } from "../log/logger.js";
import { CONTROL_TYPES, encodeEnvelope, parseEnvelope } from "../protocol/envelope.js";
import { formatCommand, parseLine } from "../protocol/line-codec.js";
import type { ControlMessage } from "./control-bus.js";

/** A control message as it travels over Redis pub/sub: one line of the line protocol. */
export function encodeControl(msg: ControlMessage): string {
  return formatCommand(encodeEnvelope(msg));
}

/** The message in a pub/sub payload, or null (logged) if it is not one we know. */
export function decodeControl(text: string, log: Logger): ControlMessage | null {
  try {
    const e = parseEnvelope(parseLine(text.trimEnd()));
    return e && CONTROL_TYPES.has(e.type) ? (e as ControlMessage) : null;
  } catch (err) {
    log.warn({ err }, "bad control message ignored");
    return null;
  }
}
