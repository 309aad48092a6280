import { randomUUID } from "node:crypto";
import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { KeyedSerial } from "../../../shared/serial.js";
import { checkClientId, checkTopicName } from "../../../shared/validate.js";
import { p2pConversation } from "../../../shared/protocol/conversation.js";
import { checkedBody } from "../attachment-ref.js";
import { SYSTEM_SENDER } from "../topics.js";
import { checkBody, checkCmid, needArgs, type Handler } from "./types.js";

/**
 * Sends of the server API (services/api) on behalf of a user or as the system sender "$system".
 * They take the path of a client's send: checked body, one store commit (deduplicated by the
 * sender's client message id, so a retry answers the first send's uuid and seq), then the live
 * delivery or the route. Internal links only (dispatch refuses them to clients).
 *
 * One sender's sends to one conversation run one after another, checks included, so they keep
 * the order the API sent them in; different senders and conversations run concurrently.
 */
const order = new KeyedSerial();

/** "$system", or a client id (canonical form). */
function senderArg(s: string | undefined): string {
  return s === SYSTEM_SENDER ? SYSTEM_SENDER : checkClientId(s, "sender id");
}

/** ADMIN_SEND_P2P <from> <to> <msg> [cmid]: `OK ADMIN_SEND_P2P <uuid> <seq> <duplicate 0|1>`. */
export const adminSendP2P: Handler = {
  access: "internal",
  handle(ctx, _conn, cmd) {
    needArgs(cmd, 3, 4, "ADMIN_SEND_P2P <from|$system> <to> <msg> [cmid]");
    const from = senderArg(cmd.args[0]);
    const to = checkClientId(cmd.args[1], "recipient id");
    const body = checkBody(ctx, cmd.args[2]!);
    const cmid = checkCmid(cmd.args[3]);
    const conv = p2pConversation(from, to);
    ctx.stats.msgsIn++;
    return order.run(`${from}\n${conv}`, async () => {
      const stored = await checkedBody(ctx.store, from, conv, body);
      const r = await ctx.store.appendP2P({ uuid: randomUUID(), from, to, body: stored, ts: Date.now(), cmid });
      if (!r.duplicate) ctx.p2p.deliver(r.msg, r.ipos);
      return okReply(Cmd.ADMIN_SEND_P2P, r.msg.uuid, String(r.msg.seq), r.duplicate ? "1" : "0");
    });
  },
};

/**
 * ADMIN_SEND_TOPIC <from> <name> <msg> [cmid]: `OK ADMIN_SEND_TOPIC <uuid> <seq> <duplicate 0|1>`.
 * A user must be a member, as on a client send; "$system" posts to any topic.
 */
export const adminSendTopic: Handler = {
  access: "internal",
  handle(ctx, _conn, cmd) {
    needArgs(cmd, 3, 4, "ADMIN_SEND_TOPIC <from|$system> <name> <msg> [cmid]");
    const from = senderArg(cmd.args[0]);
    const name = checkTopicName(cmd.args[1]);
    const body = checkBody(ctx, cmd.args[2]!);
    const cmid = checkCmid(cmd.args[3]);
    ctx.stats.topicMsgsIn++;
    return order.run(`${from}\n${name}`, async () => {
      if (!(await ctx.store.getTopic(name))) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${name}`);
      if (from !== SYSTEM_SENDER && !(await ctx.store.isMember(name, from))) {
        throw new CommandError(ErrorCode.IM_ERR_NOT_MEMBER, `${from} is not a member of ${name}`);
      }
      const stored = await checkedBody(ctx.store, from, name, body);
      const r = await ctx.store.appendTopic({ uuid: randomUUID(), topic: name, from, body: stored, ts: Date.now(), cmid });
      if (!r.duplicate) {
        ctx.topics.fanoutLocal(r.msg);
        ctx.topics.route(r.msg);
      }
      return okReply(Cmd.ADMIN_SEND_TOPIC, r.msg.uuid, String(r.msg.seq), r.duplicate ? "1" : "0");
    });
  },
};
