import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { checkClientId } from "../../../shared/validate.js";
import { needArgs, type Handler } from "./types.js";

/**
 * SEND_CLIENT_ID <clientId> (v1). Registers the session cluster-wide, closes an older session of
 * the same id wherever it is, then delivers what the client missed. [PROTO LOGIN-1..4]
 */
export const login: Handler = {
  access: "any",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 1, 1, "SEND_CLIENT_ID <clientId>");
    const id = checkClientId(cmd.args[0]);
    if (conn.state.role === "internal") throw new CommandError(ErrorCode.IM_ERR_FORBIDDEN, "an internal link cannot log in as a client");
    const current = conn.state.session;
    if (current) {
      if (current.clientId === id) return okReply(Cmd.SEND_CLIENT_ID, id);
      throw new CommandError(ErrorCode.IM_ERR_ALREADY_LOGGED_IN, `this connection is logged in as ${current.clientId}`);
    }
    const session = await ctx.sessions.login(conn, id);
    // After the OK has been written: the reply slot drains in a callback registered after this one returns.
    setImmediate(() => {
      if (!session.ended) ctx.startSync(session);
    });
    return okReply(Cmd.SEND_CLIENT_ID, id);
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
