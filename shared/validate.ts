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

/**
 * Well-formed Unicode: no lone surrogate. A lone surrogate has no UTF-8 form, so Redis, LMDB and
 * the wire would each store U+FFFD in its place, and "\ud800zz" and "\udbffzz" would become one
 * id: the second login would kick the first. (String.prototype.isWellFormed is in Node 20; the
 * es2023 lib of our tsconfig does not declare it yet.)
 */
export function isWellFormed(s: string): boolean {
  return (s as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * The one form ids and names are compared and stored in: NFC, so "é" typed as U+00E9 and as
 * "e" + U+0301 are the same client. Callers must pass well-formed text (see isWellFormed).
 */
export function canonicalText(s: string): string {
  return s.normalize("NFC");
}

/** Whether two ids or names denote the same client or topic (both already well formed). */
export function sameName(a: string, b: string): boolean {
  return a === b || canonicalText(a) === canonicalText(b);
}

/** Returns the id in canonical form (NFC); ASCII and already-NFC ids come back unchanged. */
export function checkClientId(id: string | undefined, what = "client id"): string {
  const canonical = id !== undefined && isWellFormed(id) ? canonicalText(id) : undefined;
  if (canonical === undefined || !CLIENT_ID.test(canonical)) {
    throw new CommandError(
      ErrorCode.IM_ERR_BAD_CLIENT_ID,
      `${what} must be 1-128 characters of valid Unicode without whitespace, quotes, backslashes or control characters, not starting with $`,
    );
  }
  return canonical;
}

/**
 * A copy of `s` that does not point into a larger string. V8 makes a substring of 13 or more
 * characters a view of its parent, so a client id cut from a login line kept the whole line, bearer
 * token included, alive as long as the session (~300 bytes per idle connection in a heap
 * snapshot). Concatenating flattens into a fresh string; the slice is a view of that copy only.
 */
export function ownString(s: string): string {
  return s.length < 13 ? s : (` ${s}`).slice(1);
}

/** Topic names are ASCII, so the well-formed and NFC rules hold by construction; the check stays explicit. */
export function checkTopicName(name: string | undefined): string {
  if (name === undefined || !isWellFormed(name) || !TOPIC_NAME.test(name)) {
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
