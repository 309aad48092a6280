import { CommandError, ErrorCode } from "../../../shared/errors.js";
import type { TopicPolicy, TopicRecord } from "../../../shared/store/store.js";
import type { HandlerContext } from "../context.js";
import { topicEvents, type TopicAction } from "../events.js";

/** The owner and the admins the owner named manage a topic: invite, remove members. */
export function canManage(t: Pick<TopicRecord, "owner" | "admins">, clientId: string): boolean {
  return t.owner === clientId || t.admins.includes(clientId);
}

export function policyArg(s: string): TopicPolicy {
  const p = s.toLowerCase();
  if (p !== "public" && p !== "private") throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "a topic's policy is public or private");
  return p;
}

/** The topic, or IM_ERR_NO_SUCH_TOPIC. */
export async function topicOrFail(ctx: HandlerContext, name: string): Promise<TopicRecord> {
  const t = await ctx.store.getTopic(name);
  if (!t) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${name}`);
  return t;
}

/** Tell the manager (v1's topic cache and record) what changed. */
export function publishTopicEvents(ctx: HandlerContext, topic: string, clientId: string, action: TopicAction): void {
  for (const [ch, cmd] of topicEvents(ctx.serverId, topic, clientId, action)) ctx.channels.publish(ch, cmd);
}

/** TOPIC_MEMBER <name> <id> join|leave to the other online members (best effort, docs/PROTOCOL.md). */
export function memberNotice(ctx: HandlerContext, topic: string, clientId: string, joined: boolean): void {
  if (!ctx.cfg.presence.enabled) return;
  ctx.notices.toTopic(topic, { kind: "topic-member", topic, clientId, joined }, clientId).catch((err: unknown) => ctx.log.debug({ err, topic }, "member notice not relayed"));
}
