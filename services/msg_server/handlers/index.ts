import { Cmd, type Command } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode, UnavailableError } from "../../../shared/errors.js";
import { isRedisUnavailable } from "../../../shared/bus/redis-errors.js";
import { errorReply } from "../../../shared/protocol/dialect.js";
import type { Conn } from "../session.js";
import type { HandlerContext } from "../context.js";
import type { Handler, Reply } from "./types.js";
import { login, logout, ping, refreshToken } from "./login.js";
import { p2pAck, sendP2P } from "./p2p.js";
import { createTopic, joinTopic, quitTopic, sendTopic, topicAck } from "./topics.js";
import { inviteTopic, removeMember, topicAdmin, topicInfo, topicOwner, topicPolicy } from "./topic-admin.js";
import { history, listTopics, myTopics, onlineUsers, topicMembers } from "./queries.js";
import { conversations, filesUrl, read, typing } from "./conversations.js";
import { help } from "./help.js";
import { adminSendP2P, adminSendTopic } from "./admin-send.js";
import { adminTopicCreate, adminTopicDelete, adminTopicInfo, adminTopicMember, adminTopicOwner, adminTopicPolicy } from "./admin-topics.js";
import { adminHistory, adminTopicMembers, adminTopics, adminUserTopics } from "./admin-queries.js";
import { auth, resync, routeP2P, routeTopic, stats, subscribe, unsubscribe } from "./internal.js";

/** One handler per command. Anything else is IM_ERR_UNKNOWN_COMMAND. */
export const HANDLERS: Readonly<Record<string, Handler>> = {
  [Cmd.SEND_CLIENT_ID]: login,
  [Cmd.SEND_PING]: ping,
  [Cmd.LOGOUT]: logout,
  [Cmd.REFRESH_TOKEN]: refreshToken,
  [Cmd.SEND_MESSAGE_P2P]: sendP2P,
  [Cmd.P2P_ACK]: p2pAck,
  [Cmd.CREATE_TOPIC]: createTopic,
  [Cmd.JOIN_TOPIC]: joinTopic,
  [Cmd.QUIT_TOPIC]: quitTopic,
  [Cmd.INVITE_TOPIC]: inviteTopic,
  [Cmd.REMOVE_MEMBER]: removeMember,
  [Cmd.TOPIC_ADMIN]: topicAdmin,
  [Cmd.TOPIC_POLICY]: topicPolicy,
  [Cmd.TOPIC_OWNER]: topicOwner,
  [Cmd.TOPIC_INFO]: topicInfo,
  [Cmd.SEND_MESSAGE_TOPIC]: sendTopic,
  [Cmd.TOPIC_ACK]: topicAck,
  [Cmd.LIST_TOPICS]: listTopics,
  [Cmd.TOPIC_MEMBERS]: topicMembers,
  [Cmd.MY_TOPICS]: myTopics,
  [Cmd.ONLINE_USERS]: onlineUsers,
  [Cmd.HISTORY]: history,
  [Cmd.READ]: read,
  [Cmd.CONVERSATIONS]: conversations,
  [Cmd.TYPING]: typing,
  [Cmd.FILES_URL]: filesUrl,
  [Cmd.HELP]: help,
  [Cmd.AUTH]: auth,
  [Cmd.SUBSCRIBE_CHANNEL]: subscribe,
  [Cmd.UNSUBSCRIBE_CHANNEL]: unsubscribe,
  [Cmd.ROUTE_MESSAGE_P2P]: routeP2P,
  [Cmd.ROUTE_MESSAGE_TOPIC]: routeTopic,
  [Cmd.RESYNC]: resync,
  [Cmd.STATS]: stats,
  [Cmd.ADMIN_SEND_P2P]: adminSendP2P,
  [Cmd.ADMIN_SEND_TOPIC]: adminSendTopic,
  [Cmd.ADMIN_USER_TOPICS]: adminUserTopics,
  [Cmd.ADMIN_HISTORY]: adminHistory,
  [Cmd.ADMIN_TOPIC_CREATE]: adminTopicCreate,
  [Cmd.ADMIN_TOPIC_DELETE]: adminTopicDelete,
  [Cmd.ADMIN_TOPIC_INFO]: adminTopicInfo,
  [Cmd.ADMIN_TOPIC_MEMBER]: adminTopicMember,
  [Cmd.ADMIN_TOPIC_OWNER]: adminTopicOwner,
  [Cmd.ADMIN_TOPIC_POLICY]: adminTopicPolicy,
  [Cmd.ADMIN_TOPICS]: adminTopics,
  [Cmd.ADMIN_TOPIC_MEMBERS]: adminTopicMembers,
};

/**
 * Check the connection may send this command, run its handler, queue the reply in order.
 * Internal commands from a non-internal connection get IM_ERR_FORBIDDEN and nothing else. [PROTO AUTH-2]
 */
export function dispatch(ctx: HandlerContext, conn: Conn, cmd: Command): void {
  const pending = conn.state.loginPending;
  if (pending) {
    // Queued behind the login in arrival order; the reply keeps its slot in the connection.
    conn.reply(
      cmd,
      pending.then(
        () => run(ctx, conn, cmd),
        () => run(ctx, conn, cmd),
      ),
    );
    return;
  }
  conn.reply(cmd, run(ctx, conn, cmd));
}

/** Access check and handler; the reply (or a promise of it), errors as ERR replies. */
function run(ctx: HandlerContext, conn: Conn, cmd: Command): Reply | Promise<Reply> {
  const h = HANDLERS[cmd.name];
  let err: CommandError | null = null;
  if (!h) err = new CommandError(ErrorCode.IM_ERR_UNKNOWN_COMMAND, `unknown command ${cmd.name}`);
  else if (h.access === "internal" && conn.state.role !== "internal") err = new CommandError(ErrorCode.IM_ERR_FORBIDDEN, "not allowed on this connection");
  else if (h.access === "client" && conn.state.role !== "client") err = new CommandError(ErrorCode.IM_ERR_NOT_LOGGED_IN, "log in first: SEND_CLIENT_ID <id>");
  if (err || !h) {
    ctx.stats.errors++;
    return errorReply(err);
  }
  let result: ReturnType<Handler["handle"]>;
  try {
    result = h.handle(ctx, conn, cmd);
  } catch (e) {
    ctx.stats.errors++;
    if (!(e instanceof CommandError) && !(e instanceof Error && "code" in e)) conn.log.error({ err: e, cmd: cmd.name }, "handler threw");
    return errorReply(unavailableIfRedisDown(e));
  }
  if (result instanceof Promise) {
    return result.catch((e: unknown) => {
      ctx.stats.errors++;
      throw unavailableIfRedisDown(e);
    });
  }
  return result;
}

/** A command that failed because Redis is unreachable: IM_ERR_UNAVAILABLE, worded for people. */
function unavailableIfRedisDown(e: unknown): unknown {
  if (!isRedisUnavailable(e)) return e;
  return new UnavailableError(ErrorCode.IM_ERR_UNAVAILABLE, "the cluster's Redis cannot be reached; try again shortly", { cause: e });
}
