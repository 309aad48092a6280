import { CommandError, ErrorCode } from "./errors.js";

/**
 * Client ids: 1-128 printable characters without whitespace, quotes or backslashes, not starting
 * with "$" (reserved for server-generated senders such as "$system"). The space is reserved as the
 * separator of p2p conversation ids (shared/protocol/conversation.ts), and keeping ids bare keeps every
 * line that carries them readable.
 */
const CLIENT_ID = /^(?!\$)[^\s"\\\u0000-\u001f\u007f]{1,128}$/u;

/** Topic names: 1-64 of letters, digits, `_`, `-`, `.`; no `:` so they never collide with "p2p:" ids. */
const TOPIC_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function checkClientId(id: string | undefined, what = "client id"): string {
  if (id === undefined || !CLIENT_ID.test(id)) {
    throw new CommandError(
      ErrorCode.IM_ERR_BAD_CLIENT_ID,
      `${what} must be 1-128 characters without whitespace, quotes, backslashes or control characters, not starting with $`,
    );
  }
  return id;
}

export function checkTopicName(name: string | undefined): string {
  if (name === undefined || !TOPIC_NAME.test(name)) {
    throw new CommandError(ErrorCode.IM_ERR_BAD_TOPIC_NAME, "topic name must be 1-64 characters of A-Z a-z 0-9 _ - .");
  }
  return name;
}

/** A non-negative integer argument (seq, limit), with a clear error naming it. */
export function checkUint(s: string | undefined, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (s === undefined || !/^\d{1,16}$/.test(s) || Number(s) > max) {
    throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `${what} must be an integer between 0 and ${max}`);
  }
  return Number(s);
}
