/**
 * Stable error codes. Every code here is documented in docs/ERRORS.md; a unit test checks both
 * directions, so a code cannot be added, renamed or removed without its documentation.
 * Codes travel on the wire in line mode as `ERR <CODE> <message>`.
 */
export const ErrorCode = {
  // framing and syntax
  IM_ERR_LINE_TOO_LONG: "IM_ERR_LINE_TOO_LONG",
  IM_ERR_FRAME_TOO_LARGE: "IM_ERR_FRAME_TOO_LARGE",
  IM_ERR_BAD_FRAME: "IM_ERR_BAD_FRAME",
  IM_ERR_BAD_LINE: "IM_ERR_BAD_LINE",
  IM_ERR_UNKNOWN_COMMAND: "IM_ERR_UNKNOWN_COMMAND",
  IM_ERR_BAD_ARGS: "IM_ERR_BAD_ARGS",
  // session state
  IM_ERR_NOT_LOGGED_IN: "IM_ERR_NOT_LOGGED_IN",
  IM_ERR_ALREADY_LOGGED_IN: "IM_ERR_ALREADY_LOGGED_IN",
  IM_ERR_BAD_CLIENT_ID: "IM_ERR_BAD_CLIENT_ID",
  IM_ERR_FROM_MISMATCH: "IM_ERR_FROM_MISMATCH",
  IM_ERR_KICKED: "IM_ERR_KICKED",
  IM_ERR_IDLE_TIMEOUT: "IM_ERR_IDLE_TIMEOUT",
  IM_ERR_SLOW_CONSUMER: "IM_ERR_SLOW_CONSUMER",
  IM_ERR_RATE_LIMITED: "IM_ERR_RATE_LIMITED",
  // trust
  IM_ERR_FORBIDDEN: "IM_ERR_FORBIDDEN",
  IM_ERR_AUTH_FAILED: "IM_ERR_AUTH_FAILED",
  IM_ERR_TOKEN_EXPIRED: "IM_ERR_TOKEN_EXPIRED",
  IM_ERR_TOKEN_REVOKED: "IM_ERR_TOKEN_REVOKED",
  IM_ERR_TOO_MANY_CONNECTIONS: "IM_ERR_TOO_MANY_CONNECTIONS",
  IM_ERR_UNKNOWN_CHANNEL: "IM_ERR_UNKNOWN_CHANNEL",
  // messages
  IM_ERR_MSG_TOO_LARGE: "IM_ERR_MSG_TOO_LARGE",
  IM_ERR_INBOX_FULL: "IM_ERR_INBOX_FULL",
  IM_ERR_UNKNOWN_MESSAGE: "IM_ERR_UNKNOWN_MESSAGE",
  // attachments
  IM_ERR_FILE_TOO_LARGE: "IM_ERR_FILE_TOO_LARGE",
  IM_ERR_NO_SUCH_ATTACHMENT: "IM_ERR_NO_SUCH_ATTACHMENT",
  IM_ERR_BAD_RANGE: "IM_ERR_BAD_RANGE",
  IM_ERR_BAD_ATTACHMENT: "IM_ERR_BAD_ATTACHMENT",
  // topics
  IM_ERR_TOPIC_EXISTS: "IM_ERR_TOPIC_EXISTS",
  IM_ERR_NO_SUCH_TOPIC: "IM_ERR_NO_SUCH_TOPIC",
  IM_ERR_BAD_TOPIC_NAME: "IM_ERR_BAD_TOPIC_NAME",
  IM_ERR_NOT_MEMBER: "IM_ERR_NOT_MEMBER",
  IM_ERR_TOO_MANY_TOPICS: "IM_ERR_TOO_MANY_TOPICS",
  IM_ERR_TOPIC_FULL: "IM_ERR_TOPIC_FULL",
  IM_ERR_NOT_INVITED: "IM_ERR_NOT_INVITED",
  // cluster and infrastructure
  // server API (HTTP)
  IM_ERR_BAD_API_KEY: "IM_ERR_BAD_API_KEY",
  IM_ERR_BAD_REQUEST: "IM_ERR_BAD_REQUEST",
  IM_ERR_NO_MSG_SERVER: "IM_ERR_NO_MSG_SERVER",
  IM_ERR_NOT_FOUND: "IM_ERR_NOT_FOUND",
  IM_ERR_UNAVAILABLE: "IM_ERR_UNAVAILABLE",
  IM_ERR_TIMEOUT: "IM_ERR_TIMEOUT",
  IM_ERR_SHUTTING_DOWN: "IM_ERR_SHUTTING_DOWN",
  IM_ERR_CONFIG: "IM_ERR_CONFIG",
  IM_ERR_INTERNAL: "IM_ERR_INTERNAL",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class: every error we raise on purpose carries a stable code. */
export class ImError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Malformed bytes, lines or frames: the peer broke the wire protocol. */
export class ProtocolError extends ImError {}

/** A command that is well formed but not allowed or not valid in this state. */
export class CommandError extends ImError {}

/** Authentication of internal links. */
export class AuthError extends ImError {}

/**
 * A limit was hit; the client may retry after `retryAfterMs`. In line mode the reply carries it
 * as a third argument: `ERR IM_ERR_RATE_LIMITED "<message>" <retryAfterMs>`.
 */
export class RateLimitedError extends ImError {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(ErrorCode.IM_ERR_RATE_LIMITED, message);
  }
}

/** A dependency (Redis, the store, a peer) is not reachable or answered too late. */
export class UnavailableError extends ImError {}

/** Invalid configuration file. */
export class ConfigError extends ImError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.IM_ERR_CONFIG, message, options);
  }
}

const KNOWN = new Set<string>(Object.values(ErrorCode));

export function isErrorCode(s: string): s is ErrorCode {
  return KNOWN.has(s);
}

type ErrorClass = new (code: ErrorCode, message: string, options?: ErrorOptions) => ImError;

/** Which class a code belongs to, for errors that come back over the wire (nats' `parse`). */
function classOf(code: ErrorCode): ErrorClass {
  switch (code) {
    case ErrorCode.IM_ERR_LINE_TOO_LONG:
    case ErrorCode.IM_ERR_FRAME_TOO_LARGE:
    case ErrorCode.IM_ERR_BAD_FRAME:
    case ErrorCode.IM_ERR_BAD_LINE:
      return ProtocolError;
    case ErrorCode.IM_ERR_AUTH_FAILED:
      return AuthError;
    case ErrorCode.IM_ERR_NO_MSG_SERVER:
    case ErrorCode.IM_ERR_UNAVAILABLE:
    case ErrorCode.IM_ERR_TIMEOUT:
    case ErrorCode.IM_ERR_SHUTTING_DOWN:
      return UnavailableError;
    case ErrorCode.IM_ERR_CONFIG:
    case ErrorCode.IM_ERR_INTERNAL:
      return ImError;
    default:
      return CommandError;
  }
}

/**
 * Turn an `ERR <code> <message>` reply (already split into args) back into a typed error of the
 * class its code belongs to (ProtocolError, AuthError, UnavailableError, CommandError). An unknown
 * code becomes IM_ERR_INTERNAL, keeping the peer's code in the message.
 */
export function errorFromReply(args: readonly string[]): ImError {
  const code = args[0] ?? "";
  const message = args[1] ?? "";
  if (!isErrorCode(code)) return new ImError(ErrorCode.IM_ERR_INTERNAL, message ? `${code}: ${message}` : code);
  if (code === ErrorCode.IM_ERR_RATE_LIMITED) return new RateLimitedError(message || code, Number(args[2]) || 0);
  const Cls = classOf(code);
  return new Cls(code, message || code);
}

/** Any thrown value to an ImError, keeping codes of our own errors. */
export function toImError(err: unknown): ImError {
  if (err instanceof ImError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new ImError(ErrorCode.IM_ERR_INTERNAL, message, { cause: err });
}
