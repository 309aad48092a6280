import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode, ImError, RateLimitedError } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { p2pConversation } from "../../../shared/protocol/conversation.js";
import type { ConversationSummary } from "../../../shared/store/store.js";
import { checkClientId, checkTopicName, checkUint } from "../../../shared/validate.js";
import { TokenBucket } from "../../../shared/limits/send-limiter.js";
import type { HandlerContext } from "../context.js";
import type { Session } from "../session.js";
import { congested, writable } from "../flow.js";
import { needArgs, sessionOf, type Handler } from "./types.js";

/** CONVERSATIONS page size: default and upper bound (each entry is one push line). */
const CONVERSATIONS_DEFAULT = 50;
export const CONVERSATIONS_MAX = 200;

/** The conversation a `p2p <peer>` / `topic <name>` pair names, topics checked for membership. */
async function conversationOf(ctx: HandlerContext, s: Session, kindArg: string, targetArg: string | undefined, verb: string): Promise<{ kind: "p2p" | "topic"; conv: string; target: string }> {
  const kind = kindArg.toLowerCase();
  if (kind === "p2p") {
    const peer = checkClientId(targetArg, "peer id");
    return { kind, conv: p2pConversation(s.clientId, peer), target: peer };
  }
  if (kind !== "topic") throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `${verb} kind must be p2p or topic`);
  const name = checkTopicName(targetArg);
  if (!s.topics.has(name) && !(await ctx.store.isMember(name, s.clientId))) {
    if (!(await ctx.store.getTopic(name))) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${name}`);
    throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `you are not a member of ${name}`);
  }
  return { kind, conv: name, target: name };
}

/**
 * READ p2p <peer> <seq> | READ topic <name> <seq>: `OK READ <kind> <target> <read>`. The read
 * position only moves forward and is clamped to the head (the store's rules). A p2p move is
 * pushed to the peer as READ_RECEIPT wherever it is; topic reads push nothing (one push per
 * member per read would be the cost).
 */
export const read: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 3, 3, "READ p2p|topic <peer|name> <seq>");
    const s = sessionOf(conn);
    const { kind, conv, target } = await conversationOf(ctx, s, cmd.args[0]!, cmd.args[1], "READ");
    const seq = checkUint(cmd.args[2], "seq");
    const r = await ctx.store.setReadPosition(s.clientId, conv, seq);
    if (r.changed && kind === "p2p" && target !== s.clientId) {
      ctx.notices.toClient(target, { kind: "read-receipt", reader: s.clientId, seq: r.read }).catch((err: unknown) => conn.log.debug({ err }, "read receipt not relayed"));
    }
    return okReply(Cmd.READ, kind, target, String(r.read));
  },
};

/** One CONVERSATION push (docs/PROTOCOL.md, "The CONVERSATION push"). */
export function conversationPush(c: ConversationSummary): { name: string; args: string[] } {
  const last = c.last;
  return {
    name: Cmd.CONVERSATION,
    args: [
      c.kind,
      c.conv,
      c.target,
      String(c.head),
      String(c.read),
      String(c.unread),
      c.peerRead === null ? "-" : String(c.peerRead),
      String(last?.seq ?? 0),
      last?.from ?? "",
      String(last?.ts ?? 0),
      last?.body ?? "",
    ],
  };
}

/**
 * CONVERSATIONS [limit] [beforeActivity beforeConv]: one CONVERSATION push per entry, newest
 * activity first, then `OK CONVERSATIONS <count> [<nextActivity> <nextConv>]`.
 */
export const conversations: Handler = {
  access: "client",
  handle(ctx, conn, cmd) {
    if (cmd.args.length === 2) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "usage: CONVERSATIONS [limit] [beforeActivity beforeConv] (the cursor has two parts)");
    needArgs(cmd, 0, 3, "CONVERSATIONS [limit] [beforeActivity beforeConv]");
    const s = sessionOf(conn);
    const limit = cmd.args[0] === undefined ? CONVERSATIONS_DEFAULT : checkUint(cmd.args[0], "limit", CONVERSATIONS_MAX);
    const before = cmd.args.length === 3 ? { activity: checkUint(cmd.args[1], "beforeActivity"), conv: cursorConv(cmd.args[2]!) } : undefined;
    return s.reads.run(() =>
      ctx.reads.run(async () => {
        const page = await ctx.store.conversations(s.clientId, limit, before);
        for (const c of page) {
          if (conn.closed) break;
          conn.send(conversationPush(c));
          if (congested(conn)) await writable(conn);
        }
        const tail = page.at(-1);
        return tail ? okReply(Cmd.CONVERSATIONS, String(page.length), String(tail.activity), tail.conv) : okReply(Cmd.CONVERSATIONS, "0");
      }),
    );
  },
};

/** A page cursor's conversation id: a topic name or `p2p:<a> <b>`; the store only compares it. */
function cursorConv(s: string): string {
  if (s.length === 0 || s.length > 300) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "beforeConv must be a conversation id from the previous page");
  return s;
}

const typingBuckets = new WeakMap<Session, TokenBucket>();

/**
 * TYPING p2p <peer> | TYPING topic <name>: `OK TYPING`; the peer, or every other online member,
 * gets a TYPING push. Never stored; rate limited per session.
 */
export const typing: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 2, "TYPING p2p|topic <peer|name>");
    const s = sessionOf(conn);
    const { kind, target } = await conversationOf(ctx, s, cmd.args[0]!, cmd.args[1], "TYPING");
    const { enabled, perSec, burst } = ctx.cfg.typing;
    if (!enabled) return okReply(Cmd.TYPING);
    let bucket = typingBuckets.get(s);
    const now = performance.now();
    if (!bucket) typingBuckets.set(s, (bucket = new TokenBucket(burst, perSec, now)));
    const wait = bucket.waitFor(1, now);
    if (wait > 0) throw new RateLimitedError(`typing notices too fast; retry after ${wait} ms`, wait);
    bucket.take(1);
    const done =
      kind === "p2p"
        ? ctx.notices.toClient(target, { kind: "typing", from: s.clientId, topic: null }, s.clientId)
        : ctx.notices.toTopic(target, { kind: "typing", from: s.clientId, topic: target }, s.clientId);
    done.catch((err: unknown) => conn.log.debug({ err }, "typing notice not relayed"));
    return okReply(Cmd.TYPING);
  },
};

/** FILES_URL: `OK FILES_URL <base>`, where this server's HTTP file endpoints are. */
export const filesUrl: Handler = {
  access: "client",
  handle(ctx, _conn, cmd) {
    needArgs(cmd, 0, 0, "FILES_URL");
    if (!ctx.filesUrl) throw new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "this msg_server has no HTTP file endpoints (attachments need the ws listener)");
    return okReply(Cmd.FILES_URL, ctx.filesUrl);
  },
};
