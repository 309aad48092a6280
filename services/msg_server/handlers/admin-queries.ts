import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { checkClientId, checkTopicName, checkUint } from "../../../shared/validate.js";
import { p2pConversation } from "../../../shared/protocol/conversation.js";
import { SYSTEM_SENDER } from "../topics.js";
import { needArgs, type Handler } from "./types.js";

/** Upper bound of topic names in one ADMIN_USER_TOPICS reply. */
const MAX_TOPICS = 1000;
/** Messages per ADMIN_HISTORY page, at most; and the body bytes after which a page ends early (the reply is one line). */
const MAX_PAGE = 200;
const MAX_PAGE_BODY_BYTES = 1024 * 1024;

/** ADMIN_USER_TOPICS <id>: `OK ADMIN_USER_TOPICS <name>...`, the topics the user belongs to. */
export const adminUserTopics: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    needArgs(cmd, 1, 1, "ADMIN_USER_TOPICS <id>");
    const id = checkClientId(cmd.args[0], "user id");
    return okReply(Cmd.ADMIN_USER_TOPICS, ...(await ctx.store.topicsOf(id)).slice(0, MAX_TOPICS));
  },
};

/**
 * ADMIN_HISTORY p2p <a> <b> [afterSeq] [limit] | ADMIN_HISTORY topic <name> [afterSeq] [limit]:
 * `OK ADMIN_HISTORY <json>` with {conversation, messages: [{id, seq, from, body, ts}], last}.
 * Page on by passing `last` as the next afterSeq; a page ends early after 1 MiB of bodies.
 */
export const adminHistory: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    const kind = cmd.args[0]?.toLowerCase();
    let conv: string;
    let rest: string[];
    if (kind === "p2p") {
      needArgs(cmd, 3, 5, "ADMIN_HISTORY p2p <a> <b> [afterSeq] [limit]");
      const a = cmd.args[1] === SYSTEM_SENDER ? SYSTEM_SENDER : checkClientId(cmd.args[1], "user id");
      conv = p2pConversation(a, checkClientId(cmd.args[2], "peer id"));
      rest = cmd.args.slice(3);
    } else if (kind === "topic") {
      needArgs(cmd, 2, 4, "ADMIN_HISTORY topic <name> [afterSeq] [limit]");
      conv = checkTopicName(cmd.args[1]);
      if (!(await ctx.store.getTopic(conv))) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${conv}`);
      rest = cmd.args.slice(2);
    } else {
      throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "usage: ADMIN_HISTORY p2p <a> <b> [afterSeq] [limit] | ADMIN_HISTORY topic <name> [afterSeq] [limit]");
    }
    const after = rest[0] === undefined ? 0 : checkUint(rest[0], "afterSeq");
    const limit = rest[1] === undefined ? 50 : Math.max(1, checkUint(rest[1], "limit", MAX_PAGE));
    const messages: { id: string; seq: number; from: string; body: string; ts: number }[] = [];
    let last = after;
    let bytes = 0;
    await ctx.reads.run(async () => {
      const batch = await ctx.store.history(conv, after, limit);
      for (const m of batch) {
        messages.push({ id: m.uuid, seq: m.seq, from: m.from, body: m.body, ts: m.ts });
        last = m.seq;
        bytes += Buffer.byteLength(m.body);
        if (bytes >= MAX_PAGE_BODY_BYTES) break;
      }
    });
    return okReply(Cmd.ADMIN_HISTORY, JSON.stringify({ conversation: conv, messages, last }));
  },
};

/** Names per ADMIN_TOPICS / ADMIN_TOPIC_MEMBERS page, at most. */
const MAX_NAMES = 1000;

/** A page size argument: 1..MAX_NAMES, 100 when absent. */
function pageLimit(s: string | undefined): number {
  return s === undefined ? 100 : Math.max(1, checkUint(s, "limit", MAX_NAMES));
}

/** `after` of a name page: absent or "" is the start; else a valid name (ids and topic names share the rules that matter for ordering). */
function afterName(s: string | undefined, check: (v: string) => string): string {
  return s === undefined || s === "" ? "" : check(s);
}

/** The name to pass as `after` for the next page, or null when this page was the last. */
const nextOf = (names: readonly string[], limit: number) => (names.length === limit ? names[names.length - 1]! : null);

/**
 * ADMIN_TOPICS [after] [limit]: `OK ADMIN_TOPICS <json>` with {topics: [{name, owner, policy,
 * memberCount, createdAt}], next}: every topic, private ones too, by name. Page on with `next`.
 */
export const adminTopics: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    needArgs(cmd, 0, 2, "ADMIN_TOPICS [after] [limit]");
    const after = afterName(cmd.args[0], checkTopicName);
    const limit = pageLimit(cmd.args[1]);
    const page = await ctx.store.listTopics(after, limit);
    const topics = page.map((t) => ({ name: t.name, owner: t.owner, policy: t.policy, memberCount: t.memberCount, createdAt: t.createdAt }));
    return okReply(Cmd.ADMIN_TOPICS, JSON.stringify({ topics, next: nextOf(topics.map((t) => t.name), limit) }));
  },
};

/**
 * ADMIN_TOPIC_MEMBERS <name> [after] [limit]: `OK ADMIN_TOPIC_MEMBERS <json>` with {topic,
 * members, next}: the topic's members by id. Page on with `next`.
 */
export const adminTopicMembers: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    needArgs(cmd, 1, 3, "ADMIN_TOPIC_MEMBERS <name> [after] [limit]");
    const name = checkTopicName(cmd.args[0]);
    if (!(await ctx.store.getTopic(name))) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${name}`);
    const after = afterName(cmd.args[1], (v) => checkClientId(v, "after"));
    const limit = pageLimit(cmd.args[2]);
    const members = await ctx.store.members(name, after, limit);
    return okReply(Cmd.ADMIN_TOPIC_MEMBERS, JSON.stringify({ topic: name, members, next: nextOf(members, limit) }));
  },
};
