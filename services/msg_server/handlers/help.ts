import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { needArgs, type Handler } from "./types.js";

/**
 * What `HELP` tells a person at `nc`: each client command's arguments (the same usage text its
 * IM_ERR_BAD_ARGS names, checked by test/unit/msg_server/help.test.ts) and what it does. Internal
 * commands are left out: a client cannot send them. docs/PROTOCOL.md is the full reference.
 */
export const HELP_TEXT: Readonly<Record<string, { usage: string; does: string }>> = {
  [Cmd.SEND_CLIENT_ID]: { usage: "SEND_CLIENT_ID <clientId> <token>", does: "log in (the token comes from your app, or `token --sub <id>` in development)" },
  [Cmd.SEND_PING]: { usage: "SEND_PING [PING]", does: "keep the session alive; answered OK SEND_PING PONG" },
  [Cmd.LOGOUT]: { usage: "LOGOUT", does: "end the session" },
  [Cmd.REFRESH_TOKEN]: { usage: "REFRESH_TOKEN <token>", does: "replace the session's token before it expires" },
  [Cmd.SEND_MESSAGE_P2P]: { usage: "SEND_MESSAGE_P2P <to> <msg> [from] [cmid]", does: 'send to one user; quote a message of several words: SEND_MESSAGE_P2P bob "hi there"' },
  [Cmd.P2P_ACK]: { usage: "P2P_ACK <myId> <uuid>", does: "confirm a RESP_MESSAGE_P2P; it leaves your inbox" },
  [Cmd.CREATE_TOPIC]: { usage: "CREATE_TOPIC <name> [public|private]", does: "create a topic you own" },
  [Cmd.JOIN_TOPIC]: { usage: "JOIN_TOPIC <name> <clientId>", does: "join a public topic, or a private one you were invited to" },
  [Cmd.QUIT_TOPIC]: { usage: "QUIT_TOPIC <name>", does: "leave a topic" },
  [Cmd.INVITE_TOPIC]: { usage: "INVITE_TOPIC <name> <id>", does: "let someone join your private topic" },
  [Cmd.REMOVE_MEMBER]: { usage: "REMOVE_MEMBER <name> <id>", does: "remove a member (owner and admins)" },
  [Cmd.TOPIC_ADMIN]: { usage: "TOPIC_ADMIN <name> <id> add|remove", does: "name or unname an admin (owner)" },
  [Cmd.TOPIC_POLICY]: { usage: "TOPIC_POLICY <name> public|private", does: "change who may join (owner)" },
  [Cmd.TOPIC_OWNER]: { usage: "TOPIC_OWNER <name> <id>", does: "hand the topic to another member (owner)" },
  [Cmd.TOPIC_INFO]: { usage: "TOPIC_INFO <name>", does: "a topic's owner, policy and your role" },
  [Cmd.SEND_MESSAGE_TOPIC]: { usage: "SEND_MESSAGE_TOPIC <name> <msg> [cmid]", does: "send to every member of a topic" },
  [Cmd.TOPIC_ACK]: { usage: "TOPIC_ACK <name> <seq>", does: "confirm topic messages up to seq" },
  [Cmd.LIST_TOPICS]: { usage: "LIST_TOPICS [after] [limit]", does: "topic names, a page at a time" },
  [Cmd.TOPIC_MEMBERS]: { usage: "TOPIC_MEMBERS <name> [after] [limit]", does: "a topic's members, a page at a time" },
  [Cmd.MY_TOPICS]: { usage: "MY_TOPICS", does: "the topics you are a member of" },
  [Cmd.ONLINE_USERS]: { usage: "ONLINE_USERS [limit]", does: "who is online (as the cluster's directoryVisibility allows)" },
  [Cmd.HISTORY]: { usage: "HISTORY p2p|topic <peer|name> [afterSeq] [limit]", does: "stored messages of a conversation, a page at a time" },
  [Cmd.READ]: { usage: "READ p2p|topic <peer|name> <seq>", does: "mark a conversation read up to seq" },
  [Cmd.CONVERSATIONS]: { usage: "CONVERSATIONS [limit] [beforeActivity beforeConv]", does: "your conversations with last message and unread count" },
  [Cmd.TYPING]: { usage: "TYPING p2p|topic <peer|name>", does: "tell the others you are typing (never stored)" },
  [Cmd.FILES_URL]: { usage: "FILES_URL", does: "where to upload and download attachments" },
  [Cmd.HELP]: { usage: "HELP [command]", does: "this list, or one command's arguments" },
};

/** HELP: `OK HELP <usage>...`; HELP <command>: `OK HELP <usage> <what it does>`. Works before login. */
export const help: Handler = {
  access: "any",
  handle(_ctx, _conn, cmd) {
    needArgs(cmd, 0, 1, HELP_TEXT[Cmd.HELP]!.usage);
    if (cmd.args.length === 0) return okReply(Cmd.HELP, ...Object.values(HELP_TEXT).map((h) => h.usage));
    const name = cmd.args[0]!.toUpperCase();
    const h = HELP_TEXT[name];
    if (!h) throw new CommandError(ErrorCode.IM_ERR_UNKNOWN_COMMAND, `no command ${name}; HELP lists them`);
    return okReply(Cmd.HELP, h.usage, h.does);
  },
};
