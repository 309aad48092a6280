import { Channel, Cmd, type Command } from "../../shared/protocol/commands.js";
import type { StoredMessage } from "../../shared/store/store.js";
import { GAP_WAIT_MS, OrderedStream } from "./ordered-stream.js";
import type { Session } from "./session.js";
import type { MsgServer } from "./msg-server.js";

/**
 * p2p delivery. The store's per-recipient inbox is the queue: a message is committed there before
 * its sender gets OK, then pushed live (same server) or routed (router -> ROUTE_MESSAGE_P2P).
 * If a route is lost, the recipient's msg_server notices the gap (or the sweep notices the inbox
 * head ahead of the connection) and pulls from the store. Entries leave the inbox on P2P_ACK.
 */

/** `RESP_MESSAGE_P2P [msg, from, uuid]` (v1); line mode appends seq and ts. */
export function p2pPush(session: Session, msg: StoredMessage): Command {
  return session.conn.codec === "packet"
    ? { name: Cmd.RESP_MESSAGE_P2P, args: [msg.body, msg.from, msg.uuid] }
    : { name: Cmd.RESP_MESSAGE_P2P, args: [msg.body, msg.from, msg.uuid, String(msg.seq), String(msg.ts)] };
}

/** Create the session's inbox stream and start catching up from the store. */
export async function openInbox(srv: MsgServer, session: Session): Promise<void> {
  const { store, cfg } = srv;
  // Everything still in the inbox is redelivered (at least once): start before the oldest entry.
  // The head is read first: positions up to it that the catch-up does not find were acknowledged.
  const head = (await store.inboxHeads([session.clientId])).get(session.clientId) ?? 0;
  const first = await store.inboxRange(session.clientId, 0, 1);
  if (session.ended) return;
  const start = first.length > 0 ? first[0]!.ipos - 1 : head;
  const stream = new OrderedStream<StoredMessage>(start, {
    push: (pos, msg) => {
      srv.stats.msgsOut++;
      session.unacked.set(msg.uuid, pos);
      return session.conn.send(p2pPush(session, msg));
    },
    pull: async (after, limit) => {
      srv.stats.storePulls++;
      const entries = await store.inboxRange(session.clientId, after, limit);
      return entries.map((e) => ({ pos: e.ipos, item: e.msg }));
    },
    congested: () => srv.congested(session.conn),
    writable: () => srv.writable(session.conn),
    batch: cfg.syncBatch,
    skipHoles: store.atomicAppends,
    maxStash: cfg.syncBatch * 4,
    holeGraceMs: 2000,
    gapWaitMs: GAP_WAIT_MS,
    onError: (err) => srv.log.warn({ err, clientId: session.clientId }, "inbox pull failed; the sweep will retry"),
  });
  session.inbox = stream;
  stream.open(head);
}

/** After the store committed a p2p message: hand it to the recipient here, or to the router. */
export function deliverP2P(srv: MsgServer, msg: StoredMessage, ipos: number): void {
  const local = srv.sessions.get(msg.to);
  if (local) {
    offerP2P(local, msg, ipos, srv);
    return;
  }
  // Nobody subscribed (router down): the recipient's msg_server finds it by its sweep.
  const n = srv.channels.publish(Channel.SEND, {
    name: Cmd.SEND_MESSAGE_P2P,
    args: [msg.to, msg.body, msg.from, msg.uuid, String(ipos), String(msg.seq), String(msg.ts)],
  });
  if (n > 0) srv.stats.routedOut++;
}

export function offerP2P(session: Session, msg: StoredMessage, ipos: number, srv: MsgServer): void {
  if (session.inbox) session.inbox.offer(ipos, msg);
  else srv.log.debug({ clientId: session.clientId }, "message before inbox opened; login sync will read it");
}

/** A ROUTE_MESSAGE_P2P from the router: [to, msg, from, uuid, ipos, seq, ts]. */
export function parseRouted(args: readonly string[]): { msg: StoredMessage; ipos: number } | null {
  const [to, body, from, uuid, ipos, seq, ts] = args;
  if (to === undefined || body === undefined || from === undefined || uuid === undefined) return null;
  const ip = Number(ipos);
  const sq = Number(seq);
  if (!Number.isSafeInteger(ip) || ip <= 0 || !Number.isSafeInteger(sq)) return null;
  const conv = to < from ? `p2p:${to} ${from}` : `p2p:${from} ${to}`;
  return { msg: { uuid, kind: "p2p", conv, seq: sq, from, to, body, ts: Number(ts) || Date.now() }, ipos: ip };
}

/** Safety net for lost routes: compare each local inbox head with what the connection has seen. */
export async function sweepInboxes(srv: MsgServer): Promise<void> {
  const sessions = [...srv.sessions.values()].filter((s) => s.inbox && !s.ended);
  for (let i = 0; i < sessions.length; i += 1000) {
    const chunk = sessions.slice(i, i + 1000);
    const heads = await srv.store.inboxHeads(chunk.map((s) => s.clientId));
    for (const s of chunk) s.inbox?.behind(heads.get(s.clientId) ?? 0);
  }
}
