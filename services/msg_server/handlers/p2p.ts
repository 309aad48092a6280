import { randomUUID } from "node:crypto";
import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { checkClientId } from "../../../shared/validate.js";
import { p2pConversation } from "../../../shared/protocol/conversation.js";
import { checkedBody, orderedSend } from "../attachment-ref.js";
import { hop, hopsOn } from "../../../shared/trace/hops.js";
import { traceNow } from "../../../shared/trace/tracer.js";
import { admitSend, checkBody, checkCmid, needArgs, sessionOf, type Handler } from "./types.js";

/**
 * SEND_MESSAGE_P2P <to> <msg> [from] [cmid]. v1's order, plus an optional client message id.
 * `from`, when given, must be the session's own id: senders are never taken from arguments
 * (v1 defect §9 #15). The OK comes only after the store committed the message. [PROTO P2P-1..5]
 */
export const sendP2P: Handler = {
  access: "client",
  handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 4, "SEND_MESSAGE_P2P <to> <msg> [from] [cmid]");
    const s = sessionOf(conn);
    const to = checkClientId(cmd.args[0], "recipient id");
    const body = checkBody(ctx, cmd.args[1]!);
    const from = cmd.args[2];
    if (from !== undefined && from !== "" && from !== s.clientId) {
      throw new CommandError(ErrorCode.IM_ERR_FROM_MISMATCH, `from is ${from} but this session is ${s.clientId} (a message of several words must be quoted: SEND_MESSAGE_P2P ${to} "hi there")`);
    }
    const cmid = checkCmid(cmd.args[3]);
    admitSend(ctx, s, Buffer.byteLength(body));
    ctx.stats.msgsIn++;
    const t0 = hopsOn() ? traceNow() : 0;
    // No wait for earlier commands: the store resolves one conversation's appends in call order
    // (store.ts), so deliveries keep the sender's order, and the connection orders the replies.
    const conv = p2pConversation(s.clientId, to);
    const append = (b: string) => ctx.store.appendP2P({ uuid: randomUUID(), from: s.clientId, to, body: b, ts: Date.now(), cmid });
    // An attachment reference is checked (and rewritten) first, in order with the other sends.
    return orderedSend(s, body, (b) => checkedBody(ctx.store, s.clientId, conv, b), append).then((r) => {
      if (t0 > 0) {
        hop(r.msg.uuid, "recv", t0);
        hop(r.msg.uuid, "commit");
      }
      if (!r.duplicate) ctx.p2p.deliver(r.msg, r.ipos);
      return okReply(Cmd.SEND_MESSAGE_P2P, r.msg.uuid, String(r.msg.seq));
    });
  },
};

/** P2P_ACK <myId> <uuid> (v1): the message leaves the inbox for good. */
export const p2pAck: Handler = {
  access: "client",
  async handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 2, "P2P_ACK <myId> <uuid>");
    const s = sessionOf(conn);
    if (cmd.args[0] !== s.clientId) {
      throw new CommandError(ErrorCode.IM_ERR_FROM_MISMATCH, `P2P_ACK names ${cmd.args[0]} but this session is ${s.clientId}`);
    }
    const uuid = cmd.args[1]!;
    const ipos = s.unacked.get(uuid);
    s.unacked.delete(uuid);
    const removed = await ctx.store.ackInbox(s.clientId, uuid, ipos);
    if (!removed) throw new CommandError(ErrorCode.IM_ERR_UNKNOWN_MESSAGE, `no unacknowledged message ${uuid} in your inbox`);
    ctx.stats.acks++;
    return okReply(Cmd.P2P_ACK, uuid);
  },
};
