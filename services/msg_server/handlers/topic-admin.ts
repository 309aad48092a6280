import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { MAX_TOPIC_ADMINS, type TopicRecord } from "../../../shared/store/store.js";
import { checkClientId, checkTopicName } from "../../../shared/validate.js";
import type { HandlerContext } from "../context.js";
import { canManage, memberNotice, policyArg, publishTopicEvents, topicOrFail } from "./topic-rules.js";
import { needArgs, sessionOf, type Handler } from "./types.js";

/**
 * Topic management [PROTO TOPIC-6..9]: the owner (the creator, until handed over) and the admins
 * the owner names may invite to a private topic and remove members; only the owner names admins,
 * changes the policy and hands the topic over.
 */

function mustManage(t: Pick<TopicRecord, "name" | "owner" | "admins">, who: string): void {
  if (!canManage(t, who)) {
    throw new CommandError(ErrorCode.IM_ERR_FORBIDDEN, `only the owner or an admin of ${t.name} may do that`);
  }
}

function mustOwn(t: Pick<TopicRecord, "name" | "owner">, who: string): void {
  if (t.owner !== who) throw new CommandError(ErrorCode.IM_ERR_FORBIDDEN, `only the owner of ${t.name} may do that`);
}

/** INVITE_TOPIC <name> <id>: `id` may then join the (private) topic. Idempotent. */
export const inviteTopic: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 2, "INVITE_TOPIC <name> <id>");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const who = checkClientId(cmd.args[1], "invitee id");
    mustManage(await topicOrFail(ctx, name), s.clientId);
    await ctx.store.invite(name, who);
    return okReply(Cmd.INVITE_TOPIC, name, who);
  },
};

/**
 * REMOVE_MEMBER <name> <id>: `id` stops being a member, and stops receiving at once, on whatever
 * server it is logged in (a control message to that server). The owner cannot be removed.
 */
export const removeMember: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 2, "REMOVE_MEMBER <name> <id>");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const who = checkClientId(cmd.args[1], "member id");
    const t = await topicOrFail(ctx, name);
    mustManage(t, s.clientId);
    if (who === t.owner) throw new CommandError(ErrorCode.IM_ERR_FORBIDDEN, "the owner cannot be removed; hand the topic over first (TOPIC_OWNER)");
    if (!(await ctx.store.removeMember(name, who))) throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `${who} is not a member of ${name}`);
    if (t.admins.includes(who)) await ctx.store.updateTopic(name, { admins: t.admins.filter((a) => a !== who) });
    await stopDeliveries(ctx, name, who);
    publishTopicEvents(ctx, name, who, "remove");
    memberNotice(ctx, name, who, false);
    return okReply(Cmd.REMOVE_MEMBER, name, who);
  },
};

/** Where the removed member is logged in, its deliveries of the topic stop now. */
export async function stopDeliveries(ctx: HandlerContext, topic: string, clientId: string): Promise<void> {
  const loc = await ctx.directory.lookup(clientId).catch(() => null);
  if (!loc || loc.serverId === ctx.serverId) {
    ctx.memberRemoved(topic, clientId);
    return;
  }
  await ctx.control.send(loc.serverId, { type: "member-removed", topic, clientId }).catch((err: unknown) => {
    // Best effort: that server's session still stops at its next login; membership is already gone.
    ctx.log.warn({ err, topic, clientId }, "could not tell the member's server about the removal");
  });
}

/** Where a member added by the server API is logged in, deliveries of the topic after `seq` start now. */
export async function startDeliveries(ctx: HandlerContext, topic: string, clientId: string, seq: number): Promise<void> {
  const loc = await ctx.directory.lookup(clientId).catch(() => null);
  if (!loc) return;
  if (loc.serverId === ctx.serverId) {
    ctx.memberAdded(topic, clientId, seq);
    return;
  }
  await ctx.control.send(loc.serverId, { type: "member-added", topic, clientId, seq }).catch((err: unknown) => {
    // Best effort: the member's next login syncs the topic from its cursor.
    ctx.log.warn({ err, topic, clientId }, "could not tell the member's server about the addition");
  });
}

/** TOPIC_ADMIN <name> <id> add|remove (owner only). */
export const topicAdmin: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 3, 3, "TOPIC_ADMIN <name> <id> add|remove");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const who = checkClientId(cmd.args[1], "admin id");
    const op = cmd.args[2]!.toLowerCase();
    if (op !== "add" && op !== "remove") throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "usage: TOPIC_ADMIN <name> <id> add|remove");
    const t = await topicOrFail(ctx, name);
    mustOwn(t, s.clientId);
    const admins = op === "add" ? [...new Set([...t.admins, who])] : t.admins.filter((a) => a !== who);
    if (admins.length > MAX_TOPIC_ADMINS) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `a topic has at most ${MAX_TOPIC_ADMINS} admins`);
    const u = await ctx.store.updateTopic(name, { admins });
    return okReply(Cmd.TOPIC_ADMIN, name, ...u.admins);
  },
};

/** TOPIC_POLICY <name> public|private (owner only). Members stay; a private topic needs invitations from now on. */
export const topicPolicy: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 2, "TOPIC_POLICY <name> public|private");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const policy = policyArg(cmd.args[1]!);
    mustOwn(await topicOrFail(ctx, name), s.clientId);
    await ctx.store.updateTopic(name, { policy });
    return okReply(Cmd.TOPIC_POLICY, name, policy);
  },
};

/** TOPIC_OWNER <name> <id> (owner only): hand the topic over; `id` must be a member. */
export const topicOwner: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 2, "TOPIC_OWNER <name> <id>");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const who = checkClientId(cmd.args[1], "new owner id");
    mustOwn(await topicOrFail(ctx, name), s.clientId);
    if (!(await ctx.store.isMember(name, who))) throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `${who} must be a member of ${name} to own it`);
    await ctx.store.updateTopic(name, { owner: who });
    return okReply(Cmd.TOPIC_OWNER, name, who);
  },
};

/**
 * TOPIC_INFO <name>: `OK TOPIC_INFO <name> <owner> <policy> <memberCount> <admin>...`. A private
 * topic's details are for its members only.
 */
export const topicInfo: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 1, 1, "TOPIC_INFO <name>");
    const s = sessionOf(conn);
    const name = checkTopicName(cmd.args[0]);
    const t = await topicOrFail(ctx, name);
    if (t.policy === "private" && !(await ctx.store.isMember(name, s.clientId))) {
      throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `${name} is private: only its members see its details`);
    }
    return okReply(Cmd.TOPIC_INFO, name, t.owner, t.policy, String(t.memberCount), ...t.admins);
  },
};
