import type { Command } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode, RateLimitedError } from "../../../shared/errors.js";
import type { Conn, Session } from "../session.js";
import type { HandlerContext } from "../context.js";

export type Reply = Command | null;

/** Who may send a command: anyone, a logged-in client, or an authenticated internal link. */
export type Access = "any" | "client" | "internal";

export interface Handler {
  access: Access;
  handle(ctx: HandlerContext, conn: Conn, cmd: Command): Reply | Promise<Reply>;
}

/** Argument count check with the usage in the error, e.g. `SEND_MESSAGE_P2P <to> <msg> [from] [cmid]`. */
export function needArgs(cmd: Command, min: number, max: number, usage: string): void {
  if (cmd.args.length < min || cmd.args.length > max) {
    throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `usage: ${usage}`);
  }
}

/** The logged-in session of a connection (dispatch has already checked access). */
export function sessionOf(conn: Conn) {
  const s = conn.state.session;
  if (!s || s.ended) throw new CommandError(ErrorCode.IM_ERR_NOT_LOGGED_IN, "log in first: SEND_CLIENT_ID <id>");
  return s;
}

/** A client message id: optional, at most 128 characters, no whitespace. */
export function checkCmid(s: string | undefined): string | undefined {
  if (s === undefined || s === "") return undefined;
  if (s.length > 128 || /\s/.test(s)) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "client message id must be at most 128 characters without whitespace");
  return s;
}

export function checkBody(ctx: HandlerContext, body: string): string {
  if (Buffer.byteLength(body, "utf8") > ctx.cfg.maxMessageBytes) {
    throw new CommandError(ErrorCode.IM_ERR_MSG_TOO_LARGE, `message body exceeds ${ctx.cfg.maxMessageBytes} bytes`);
  }
  return body;
}

/**
 * The session's send rate (messages and bytes per second, token buckets). A line or WebSocket
 * client over it gets IM_ERR_RATE_LIMITED with the wait; a v1 packet client, which cannot read
 * errors, has its message accepted and its connection paused for the wait instead.
 */
export function admitSend(ctx: HandlerContext, s: Session, bodyBytes: number): void {
  s.sendLimiter ??= ctx.sendLimiterOf(s.clientId);
  const wait = s.sendLimiter.take(bodyBytes);
  if (wait === 0) return;
  const ms = Math.ceil(wait);
  if (!s.conn.dialect.replies) {
    s.conn.throttle(ms);
    return;
  }
  throw new RateLimitedError(`sending too fast; retry after ${ms} ms`, ms);
}
