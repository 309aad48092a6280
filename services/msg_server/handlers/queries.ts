import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { checkClientId, checkTopicName, checkUint } from "../../../shared/validate.js";
import { p2pConversation } from "../../../shared/protocol/conversation.js";
import { congested, writable } from "../flow.js";
import type { HandlerContext } from "../context.js";
import { needArgs, sessionOf, type Handler } from "./types.js";

/** Messages read from the store per step of a HISTORY request. */
const HISTORY_BATCH = 50;

/** Upper bound of names returned by one listing command (keeps replies within a line). */
const MAX_LIST = 1000;

function limitArg(s: string | undefined, dflt: number, max: number): number {
  return s === undefined ? dflt : Math.max(1, checkUint(s, "limit", max));
}

/**
 * LIST_TOPICS [after] [limit]: `OK LIST_TOPICS <name>...`, ordered by name; page with `after`.
 * Private topics are listed only to their members. [PROTO TOPIC-8]
 */
export const listTopics: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 0, 2, "LIST_TOPICS [after] [limit]");
    const s = sessionOf(conn);
    const topics = await ctx.store.listTopics(cmd.args[0] ?? "", limitArg(cmd.args[1], 100, MAX_LIST));
    const visible: string[] = [];
    for (const t of topics) if (t.policy === "public" || (await ctx.store.isMember(t.name, s.clientId))) visible.push(t.name);
    return okReply(Cmd.LIST_TOPICS, ...visible);
  },
};

/** directoryVisibility "none": the directory commands are refused outright. */
function mustSeeDirectory(ctx: HandlerContext): void {
  if (ctx.cfg.directoryVisibility === "none") throw new CommandError(ErrorCode.IM_ERR_FORBIDDEN, "this cluster does not list its users (directoryVisibility none)");
}

/**
 * TOPIC_MEMBERS <name> [after] [limit]: `OK TOPIC_MEMBERS <name> <member>...`. Members only for a
 * private topic, and for every topic under directoryVisibility "peers". [PROTO TOPIC-8]
 */
export const topicMembers: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 1, 3, "TOPIC_MEMBERS <name> [after] [limit]");
    mustSeeDirectory(ctx);
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const topic = await ctx.store.getTopic(name);
    if (!topic) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${name}`);
    if ((topic.policy === "private" || ctx.cfg.directoryVisibility === "peers") && !(await ctx.store.isMember(name, s.clientId))) {
      throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `only members of ${name} see who else is in it`);
    }
    const members = await ctx.store.members(name, cmd.args[1] ?? "", limitArg(cmd.args[2], 100, MAX_LIST));
    return okReply(Cmd.TOPIC_MEMBERS, name, ...members);
  },
};

/** MY_TOPICS: `OK MY_TOPICS <name>...`, the topics this client belongs to. */
export const myTopics: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 0, 0, "MY_TOPICS");
    const s = sessionOf(conn);
    return okReply(Cmd.MY_TOPICS, ...(await ctx.store.topicsOf(s.clientId)).slice(0, MAX_LIST));
  },
};

/** Peers looked at per ONLINE_USERS under directoryVisibility "peers": members of your topics, first found first. */
const MAX_PEERS = 2000;

/**
 * ONLINE_USERS [limit]: `OK ONLINE_USERS <id>...`, sorted, at most limit (default 100): everyone
 * online in the cluster (directoryVisibility "all", v1's `:olu`), or only those who share a topic
 * with you ("peers"), or refused ("none").
 */
export const onlineUsers: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 0, 1, "ONLINE_USERS [limit]");
    mustSeeDirectory(ctx);
    const limit = limitArg(cmd.args[0], 100, MAX_LIST);
    if (ctx.cfg.directoryVisibility === "all") return okReply(Cmd.ONLINE_USERS, ...(await ctx.directory.online(limit)));
    const s = sessionOf(conn);
    const peers = new Set<string>();
    for (const topic of await ctx.store.topicsOf(s.clientId)) {
      for (const m of await ctx.store.members(topic, "", MAX_PEERS - peers.size)) if (m !== s.clientId) peers.add(m);
      if (peers.size >= MAX_PEERS) break;
    }
    const ids = [...peers].sort();
    const online = await Promise.all(ids.map((id) => ctx.directory.lookup(id)));
    return okReply(Cmd.ONLINE_USERS, ...ids.filter((_, i) => online[i] !== null).slice(0, limit));
  },
};

/**
 * HISTORY p2p <peer> [afterSeq] [limit] | HISTORY topic <name> [afterSeq] [limit].
 * Streams `HISTORY_ITEM <conv> <seq> <uuid> <from> <msg> <ts>` lines, then
 * `OK HISTORY <count> <lastSeq>`; page by passing lastSeq as the next afterSeq.
 */
export const history: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 4, "HISTORY p2p|topic <peer|name> [afterSeq] [limit]");
    const s = sessionOf(conn);
    const kind = cmd.args[0]!.toLowerCase();
    let conv: string;
    if (kind === "p2p") {
      conv = p2pConversation(s.clientId, checkClientId(cmd.args[1], "peer id"));
    } else if (kind === "topic") {
      conv = checkTopicName(cmd.args[1]);
      if (!(await ctx.store.isMember(conv, s.clientId))) throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `only members may read ${conv}`);
    } else {
      throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "HISTORY kind must be p2p or topic");
    }
    const after = cmd.args[2] === undefined ? 0 : checkUint(cmd.args[2], "afterSeq");
    const limit = limitArg(cmd.args[3], 50, 500);
    // Bounded: a few reads per session and per process at once, read in small batches, each
    // batch written before the next is read (paced to the socket), and abandoned as soon as the
    // connection is gone. A pipeline of huge HISTORY requests once took a msg_server's heap.
    return s.reads.run(() =>
      ctx.reads.run(async () => {
        let count = 0;
        let lastSeq = after;
        while (count < limit && !conn.closed) {
          const batch = await ctx.store.history(conv, lastSeq, Math.min(HISTORY_BATCH, limit - count));
          for (const m of batch) conn.send({ name: Cmd.HISTORY_ITEM, args: [m.conv, String(m.seq), m.uuid, m.from, m.body, String(m.ts)] });
          count += batch.length;
          if (batch.length > 0) lastSeq = batch[batch.length - 1]!.seq;
          if (batch.length < HISTORY_BATCH) break;
          if (congested(conn)) await writable(conn);
        }
        return okReply(Cmd.HISTORY, String(count), String(lastSeq));
      }),
    );
  },
};
