import { randomUUID } from "node:crypto";
import { Cmd } from "../../../shared/protocol/commands.js";
import { CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/net/connection.js";
import { checkClientId } from "../../../shared/validate.js";
import { deliverP2P } from "../delivery.js";
import { checkBody, checkCmid, inOrder, needArgs, sessionOf, type Handler } from "./types.js";

/**
 * SEND_MESSAGE_P2P <to> <msg> [from] [cmid]. v1's order, plus an optional client message id.
 * `from`, when given, must be the session's own id: senders are never taken from arguments
 * (v1 defect §9 #15). The OK comes only after the store committed the message. [PROTO P2P-1..5]
 */
export const sendP2P: Handler = {
  access: "client",
  handle(srv, conn, cmd) {
    needArgs(cmd, 2, 4, "SEND_MESSAGE_P2P <to> <msg> [from] [cmid]");
    const s = sessionOf(conn);
    const to = checkClientId(cmd.args[0], "recipient id");
    const body = checkBody(srv, cmd.args[1]!);
    const from = cmd.args[2];
    if (from !== undefined && from !== "" && from !== s.clientId) {
      throw new CommandError(ErrorCode.IM_ERR_FROM_MISMATCH, `from is ${from} but this session is ${s.clientId}`);
    }
    const cmid = checkCmid(cmd.args[3]);
    srv.stats.msgsIn++;
    // Start the write now (the store keeps call order), but deliver and answer in send order.
    const appended = srv.store.appendP2P({ uuid: randomUUID(), from: s.clientId, to, body, ts: Date.now(), cmid });
    appended.catch(() => undefined); // handled through the chain below; this only silences the early-rejection warning
    return inOrder(s, async () => {
      const r = await appended;
      if (!r.duplicate) deliverP2P(srv, r.msg, r.ipos);
      return okReply(Cmd.SEND_MESSAGE_P2P, r.msg.uuid, String(r.msg.seq));
    });
  },
};

/** P2P_ACK <myId> <uuid> (v1): the message leaves the inbox for good. */
export const p2pAck: Handler = {
  access: "client",
  async handle(srv, conn, cmd) {
    needArgs(cmd, 2, 2, "P2P_ACK <myId> <uuid>");
    const s = sessionOf(conn);
    if (cmd.args[0] !== s.clientId) {
      throw new CommandError(ErrorCode.IM_ERR_FROM_MISMATCH, `P2P_ACK names ${cmd.args[0]} but this session is ${s.clientId}`);
    }
    const uuid = cmd.args[1]!;
    const removed = await srv.store.ackInbox(s.clientId, uuid);
    if (!removed) throw new CommandError(ErrorCode.IM_ERR_UNKNOWN_MESSAGE, `no unacknowledged message ${uuid} in your inbox`);
    srv.stats.acks++;
    if (s.unacked > 0) s.unacked--;
    return okReply(Cmd.P2P_ACK, uuid);
  },
};
