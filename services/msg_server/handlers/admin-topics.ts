import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { checkClientId, checkTopicName } from "../../../shared/validate.js";
import { policyArg, publishTopicEvents, topicOrFail } from "./topic-rules.js";
import { startDeliveries, stopDeliveries } from "./topic-admin.js";
import type { HandlerContext } from "../context.js";
import { needArgs, type Handler } from "./types.js";

/**
 * Topic management by the server API (services/api): the app's backend acts as the topic's
 * owner would, without the owner's session. Internal links only. Replies carry JSON where the
 * API answers with an object.
 */

/** Members read per step when a deleted topic's members are told to stop. */
const MEMBER_PAGE = 500;

/**
 * Make `who` a member (false when it already was): no invitation needed (the backend decides),
 * maxMembersPerTopic holds, and a new member starts at the present, as after JOIN_TOPIC.
 */
async function addMember(ctx: HandlerContext, name: string, who: string): Promise<boolean> {
  if (await ctx.store.isMember(name, who)) return false;
  // Cursor before membership, as JOIN_TOPIC does: a login sync running now finds the starting point.
  const head = (await ctx.store.topicHeads([name])).get(name) ?? 0;
  await ctx.store.setCursors([{ clientId: who, topic: name, seq: head }]);
  if (!(await ctx.store.addMember(name, who, { maxMembers: ctx.cfg.maxMembersPerTopic }))) return false;
  await startDeliveries(ctx, name, who, head);
  publishTopicEvents(ctx, name, who, "join");
  return true;
}

/** ADMIN_TOPIC_INFO <name>: `OK ADMIN_TOPIC_INFO <json>` ({name, owner, policy, memberCount, admins, createdAt}). */
export const adminTopicInfo: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    needArgs(cmd, 1, 1, "ADMIN_TOPIC_INFO <name>");
    const t = await topicOrFail(ctx, checkTopicName(cmd.args[0]));
    return okReply(Cmd.ADMIN_TOPIC_INFO, JSON.stringify({ name: t.name, owner: t.owner, policy: t.policy, memberCount: t.memberCount, admins: t.admins, createdAt: t.createdAt }));
  },
};

/** ADMIN_TOPIC_CREATE <name> <owner> [public|private]: the owner is its first member, as with CREATE_TOPIC. */
export const adminTopicCreate: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    needArgs(cmd, 2, 3, "ADMIN_TOPIC_CREATE <name> <owner> [public|private]");
    const name = checkTopicName(cmd.args[0]);
    const owner = checkClientId(cmd.args[1], "owner id");
    const policy = policyArg(cmd.args[2] ?? "public");
    await ctx.store.createTopic(name, owner, Date.now(), { policy, maxOwned: ctx.cfg.maxTopicsPerUser });
    await startDeliveries(ctx, name, owner, 0);
    publishTopicEvents(ctx, name, owner, "create");
    return okReply(Cmd.ADMIN_TOPIC_CREATE, name);
  },
};

/** ADMIN_TOPIC_DELETE <name>: the topic, its members and its history go; online members stop receiving it. */
export const adminTopicDelete: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    needArgs(cmd, 1, 1, "ADMIN_TOPIC_DELETE <name>");
    const name = checkTopicName(cmd.args[0]);
    await topicOrFail(ctx, name);
    const members: string[] = [];
    for (let after = ""; ; ) {
      const page = await ctx.store.members(name, after, MEMBER_PAGE);
      members.push(...page);
      if (page.length < MEMBER_PAGE) break;
      after = page[page.length - 1]!;
    }
    if (!(await ctx.store.deleteTopic(name))) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${name}`);
    for (let i = 0; i < members.length; i += MEMBER_PAGE) {
      await Promise.all(members.slice(i, i + MEMBER_PAGE).map((m) => stopDeliveries(ctx, name, m)));
    }
    for (const m of members) publishTopicEvents(ctx, name, m, "remove");
    return okReply(Cmd.ADMIN_TOPIC_DELETE, name, String(members.length));
  },
};

/**
 * ADMIN_TOPIC_MEMBER <name> <id> add|remove: `OK ADMIN_TOPIC_MEMBER <name> <id> <changed 0|1>`.
 * The owner cannot be removed.
 */
export const adminTopicMember: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    needArgs(cmd, 3, 3, "ADMIN_TOPIC_MEMBER <name> <id> add|remove");
    const name = checkTopicName(cmd.args[0]);
    const who = checkClientId(cmd.args[1], "member id");
    const op = cmd.args[2]!.toLowerCase();
    if (op !== "add" && op !== "remove") throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "usage: ADMIN_TOPIC_MEMBER <name> <id> add|remove");
    const t = await topicOrFail(ctx, name);
    let changed: boolean;
    if (op === "add") {
      changed = await addMember(ctx, name, who);
    } else {
      if (who === t.owner) throw new CommandError(ErrorCode.IM_ERR_FORBIDDEN, "the owner cannot be removed; hand the topic over first");
      changed = await ctx.store.removeMember(name, who);
      if (changed) {
        if (t.admins.includes(who)) await ctx.store.updateTopic(name, { admins: t.admins.filter((a) => a !== who) });
        await stopDeliveries(ctx, name, who);
        publishTopicEvents(ctx, name, who, "remove");
      }
    }
    return okReply(Cmd.ADMIN_TOPIC_MEMBER, name, who, changed ? "1" : "0");
  },
};

/** ADMIN_TOPIC_OWNER <name> <id>: hand the topic over; `id` becomes a member if it was not one. */
export const adminTopicOwner: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    needArgs(cmd, 2, 2, "ADMIN_TOPIC_OWNER <name> <id>");
    const name = checkTopicName(cmd.args[0]);
    const who = checkClientId(cmd.args[1], "new owner id");
    await topicOrFail(ctx, name);
    await addMember(ctx, name, who);
    await ctx.store.updateTopic(name, { owner: who });
    return okReply(Cmd.ADMIN_TOPIC_OWNER, name, who);
  },
};

/** ADMIN_TOPIC_POLICY <name> public|private. */
export const adminTopicPolicy: Handler = {
  access: "internal",
  async handle(ctx, _conn, cmd) {
    needArgs(cmd, 2, 2, "ADMIN_TOPIC_POLICY <name> public|private");
    const name = checkTopicName(cmd.args[0]);
    const policy = policyArg(cmd.args[1]!);
    await ctx.store.updateTopic(name, { policy });
    return okReply(Cmd.ADMIN_TOPIC_POLICY, name, policy);
  },
};
