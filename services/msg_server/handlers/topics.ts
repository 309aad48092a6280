import { randomUUID } from "node:crypto";
import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { checkTopicName, checkUint } from "../../../shared/validate.js";
import type { Session } from "../session.js";
import type { HandlerContext } from "../context.js";
import { canManage, memberNotice, policyArg, publishTopicEvents } from "./topic-rules.js";
import { checkedBody, orderedSend } from "../attachment-ref.js";
import { admitSend, checkBody, checkCmid, needArgs, sessionOf, type Handler } from "./types.js";

/**
 * CREATE_TOPIC <name> [public|private] (v1, plus the policy; public by default, as v1). The
 * creator is the owner and first member. An existing name is an error, never an overwrite. [PROTO TOPIC-1]
 */
export const createTopic: Handler = {
  access: "client",
  handle(ctx, conn, cmd) {
    needArgs(cmd, 1, 2, "CREATE_TOPIC <name> [public|private]");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const policy = policyArg(cmd.args[1] ?? "public");
    return s.serial.run(async () => {
      await ctx.store.createTopic(name, s.clientId, Date.now(), { policy, maxOwned: ctx.cfg.maxTopicsPerUser });
      ctx.topics.attach(s, name, 0);
      publishTopicEvents(ctx, name, s.clientId, "create");
      return okReply(Cmd.CREATE_TOPIC, name);
    });
  },
};

/**
 * JOIN_TOPIC <name> <clientId> (v1). Works on any msg_server; the answer is v1's
 * LOCATE_TOPIC_MSG_ADDR naming this server, so v1 clients stay where they are. [PROTO TOPIC-2]
 */
export const joinTopic: Handler = {
  access: "client",
  handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 2, "JOIN_TOPIC <name> <clientId>");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    if (cmd.args[1] !== s.clientId) {
      throw new CommandError(ErrorCode.IM_ERR_FROM_MISMATCH, `JOIN_TOPIC names ${cmd.args[1]} but this session is ${s.clientId}`);
    }
    return s.serial.run(async () => {
      const topic = await ctx.store.getTopic(name);
      if (!topic) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${name}`);
      if (!(await ctx.store.isMember(name, s.clientId))) {
        // A private topic is joined by invitation only; its owner and admins need none. [PROTO TOPIC-6]
        if (topic.policy === "private" && !canManage(topic, s.clientId) && !(await ctx.store.isInvited(name, s.clientId))) {
          throw new CommandError(ErrorCode.IM_ERR_NOT_INVITED, `${name} is private: ask its owner or an admin for an invitation`);
        }
        // A new member starts at the present: earlier messages are history, not a backlog. The
        // cursor is written before the membership, so the login sync (which may run at the same
        // time and reads membership first) never finds the member without its starting point.
        const head = (await ctx.store.topicHeads([name])).get(name) ?? 0;
        await ctx.store.setCursors([{ clientId: s.clientId, topic: name, seq: head }]);
        if (await ctx.store.addMember(name, s.clientId, { maxMembers: ctx.cfg.maxMembersPerTopic })) {
          ctx.topics.attach(s, name, head);
          publishTopicEvents(ctx, name, s.clientId, "join");
          memberNotice(ctx, name, s.clientId, true);
        }
      }
      return { name: Cmd.LOCATE_TOPIC_MSG_ADDR, args: [ctx.serverId, name] };
    });
  },
};

/** QUIT_TOPIC <name> (new). Delivery stops; the topic and its history stay. [PROTO TOPIC-4] */
export const quitTopic: Handler = {
  access: "client",
  handle(ctx, conn, cmd) {
    needArgs(cmd, 1, 1, "QUIT_TOPIC <name>");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    return s.serial.run(async () => {
      if (!(await ctx.store.removeMember(name, s.clientId))) {
        throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `you are not a member of ${name}`);
      }
      ctx.topics.detach(s, name);
      s.dirtyCursors.delete(name);
      publishTopicEvents(ctx, name, s.clientId, "quit");
      memberNotice(ctx, name, s.clientId, false);
      return okReply(Cmd.QUIT_TOPIC, name);
    });
  },
};

async function assertMember(ctx: HandlerContext, s: Session, name: string): Promise<void> {
  if (s.topics.has(name) || (await ctx.store.isMember(name, s.clientId))) return;
  if (!(await ctx.store.getTopic(name))) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${name}`);
  throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `only members may post to ${name}; JOIN_TOPIC first`);
}

/**
 * SEND_MESSAGE_TOPIC <name> <msg> [cmid] (v1 plus cmid). Members only. Every member online
 * anywhere gets RESP_MESSAGE_TOPIC once, the sender included. [PROTO TOPIC-3]
 */
export const sendTopic: Handler = {
  access: "client",
  handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 3, "SEND_MESSAGE_TOPIC <name> <msg> [cmid]");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const body = checkBody(ctx, cmd.args[1]!);
    const cmid = checkCmid(cmd.args[2]);
    admitSend(ctx, s, Buffer.byteLength(body));
    ctx.stats.topicMsgsIn++;
    const appendBody = (b: string) => ctx.store.appendTopic({ uuid: randomUUID(), topic: name, from: s.clientId, body: b, ts: Date.now(), cmid });
    // An attachment reference is checked (and rewritten) first, in order with the other sends.
    const append = () => orderedSend(s, body, (b) => checkedBody(ctx.store, s.clientId, name, b), appendBody);
    // Fast path keeps the store call in arrival order; a membership check that needs the store
    // runs inside the chain so it cannot let a later send overtake this one.
    let appended: ReturnType<typeof append> | null = null;
    if (s.topics.has(name)) {
      appended = append();
      appended.catch(() => undefined);
    }
    return s.serial.run(async () => {
      if (!appended) await assertMember(ctx, s, name);
      const r = await (appended ?? append());
      if (!r.duplicate) {
        ctx.topics.fanoutLocal(r.msg);
        ctx.topics.route(r.msg);
      }
      return okReply(Cmd.SEND_MESSAGE_TOPIC, r.msg.uuid, String(r.msg.seq));
    });
  },
};

/** TOPIC_ACK <name> <seq> (new): everything up to seq in this topic is acknowledged (cumulative). */
export const topicAck: Handler = {
  access: "client",
  handle(_srv, conn, cmd) {
    needArgs(cmd, 2, 2, "TOPIC_ACK <name> <seq>");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const seq = checkUint(cmd.args[1], "seq");
    const stream = s.topics.get(name);
    if (!stream) throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `you are not a member of ${name}`);
    if (seq > stream.last) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `seq ${seq} was not delivered yet (last is ${stream.last})`);
    if (seq > (s.dirtyCursors.get(name) ?? 0)) s.dirtyCursors.set(name, seq);
    return okReply(Cmd.TOPIC_ACK, name, String(seq));
  },
};
