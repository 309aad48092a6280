import { Cmd } from "../../../shared/protocol/commands.js";
import { AuthError, CommandError, ErrorCode, RateLimitedError } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { checkClientId } from "../../../shared/validate.js";
import type { Command } from "../../../shared/protocol/commands.js";
import type { HandlerContext } from "../context.js";
import type { Conn, Session } from "../session.js";
import { needArgs, sessionOf, type Handler, type Reply } from "./types.js";

/**
 * SEND_CLIENT_ID <clientId> [token] (v1, plus the token). In clientAuth mode "token" the token
 * must be a valid signed token for this id; every failure is IM_ERR_AUTH_FAILED and closes the
 * connection, and a session already logged in as that id is not touched (the check runs before
 * anything changes). Then the session is registered cluster-wide, an older session of the same
 * id is closed wherever it is, and what the client missed is delivered. [PROTO LOGIN-1..5]
 * Admission control comes first: past loginAdmission.maxInProgress logins at once the login waits
 * its turn, and past maxQueued waiting it is refused with a wait before any work (no token check,
 * not counted against the address).
 */
export const login: Handler = {
  access: "any",
  handle(ctx, conn, cmd) {
    const done = loginNow(ctx, conn, cmd);
    conn.state.loginPending = done;
    const clear = () => {
      if (conn.state.loginPending === done) conn.state.loginPending = null;
    };
    done.then(clear, clear);
    return done;
  },
};

async function loginNow(ctx: HandlerContext, conn: Conn, cmd: Command): Promise<Reply> {
  needArgs(cmd, 1, 2, "SEND_CLIENT_ID <clientId> <token>");
  const id = checkClientId(cmd.args[0]);
  if (conn.state.role === "internal") throw new CommandError(ErrorCode.IM_ERR_FORBIDDEN, "an internal link cannot log in as a client");
  const current = conn.state.session;
  if (current) {
    if (current.clientId === id) return okReply(Cmd.SEND_CLIENT_ID, id);
    throw new CommandError(ErrorCode.IM_ERR_ALREADY_LOGGED_IN, `this connection is logged in as ${current.clientId}`);
  }
  const slot = ctx.admission.enter();
  if (!slot) throw refuse(ctx, conn);
  const release = slot instanceof Promise ? await slot : slot;
  let session: Session;
  try {
    // Queued, it may have gone meanwhile: no token check for a closed connection.
    if (conn.closed) throw new CommandError(ErrorCode.IM_ERR_UNAVAILABLE, "connection closed while waiting to log in");
    let token: Awaited<ReturnType<typeof ctx.auth.check>>;
    try {
      token = await ctx.auth.check(id, cmd.args[1], conn.remoteAddr);
    } catch (err) {
      if (err instanceof AuthError) setImmediate(() => conn.close());
      throw err;
    }
    if (conn.closed || conn.state.session) throw new CommandError(ErrorCode.IM_ERR_ALREADY_LOGGED_IN, "this connection logged in meanwhile");
    session = await ctx.sessions.login(conn, id, token);
  } catch (err) {
    release();
    throw err;
  }
  // After the OK has been written: the reply slot drains in a callback registered after this one returns.
  // The slot is held until the sync has read what the client missed.
  setImmediate(() => {
    if (session.ended) release();
    else void ctx.startSync(session).finally(release);
  });
  return okReply(Cmd.SEND_CLIENT_ID, id);
}

/**
 * A login over the admission bound: the wait for a client that can hear it; a v1 packet client
 * gets no reply at all, so it is closed, and reconnects through the gateway as after any drop.
 */
function refuse(ctx: HandlerContext, conn: Conn): RateLimitedError {
  ctx.stats.loginsRefused++;
  const wait = ctx.admission.retryAfterMs();
  if (!conn.dialect.replies) setImmediate(() => conn.close());
  return new RateLimitedError(`too many logins waiting on this server; retry after ${wait} ms`, wait);
}

/** REFRESH_TOKEN <token> (new): a fresh token for the same id extends the session past its old token's expiry. */
export const refreshToken: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 1, 1, "REFRESH_TOKEN <token>");
    const s = sessionOf(conn);
    if (ctx.auth.mode !== "token") return okReply(Cmd.REFRESH_TOKEN, "0");
    try {
      const token = await ctx.auth.check(s.clientId, cmd.args[0], conn.remoteAddr);
      if (!token) return okReply(Cmd.REFRESH_TOKEN, "0");
      ctx.sessions.setToken(s, token);
      return okReply(Cmd.REFRESH_TOKEN, String(token.exp));
    } catch (err) {
      if (err instanceof AuthError) {
        // A failed refresh ends the session: whoever holds it cannot prove it is still theirs.
        ctx.sessions.end(s);
        setImmediate(() => conn.close());
      }
      throw err;
    }
  },
};

/** LOGOUT (new): end the session and close the connection. */
export const logout: Handler = {
  access: "client",
  handle(ctx, conn) {
    const s = conn.state.session;
    if (s) ctx.sessions.end(s);
    setImmediate(() => conn.close());
    return okReply(Cmd.LOGOUT);
  },
};

/** SEND_PING [PING] (v1). v1 never answered; line mode gets `OK SEND_PING PONG`. */
export const ping: Handler = {
  access: "any",
  handle() {
    return okReply(Cmd.SEND_PING, "PONG");
  },
};
