import type { Logger } from "../../shared/log/logger.js";
import { Channel } from "../../shared/protocol/commands.js";
import { encodeEnvelope, routedMessage, type RouteP2P } from "../../shared/protocol/envelope.js";
import type { Store, StoredMessage } from "../../shared/store/store.js";
import type { ChannelHub } from "./channels.js";
import type { MsgServerConfig } from "./config.js";
import type { Session } from "./session.js";
import type { MsgServerStats } from "./stats.js";
import { DeliveryFeed, deliveryStream } from "./streams.js";
import type { StreamEntry } from "./ordered-stream.js";
import { hop } from "../../shared/trace/hops.js";

export interface P2PDeliveryDeps {
  cfg: Pick<MsgServerConfig, "syncBatch">;
  store: Store;
  stats: MsgServerStats;
  sessions: { get(clientId: string): Session | undefined; values(): Iterable<Session> };
  channels: ChannelHub;
  log: Logger;
}

/** Sessions whose inbox heads one sweep reads per store call. */
const SWEEP_SLICE = 1000;

/**
 * p2p delivery. The store's per-recipient inbox is the queue: a message is committed there before
 * its sender gets OK, then pushed live (same server) or routed (router -> ROUTE_MESSAGE_P2P).
 * If a route is lost, the recipient's msg_server notices the gap (or the sweep notices the inbox
 * head ahead of the connection) and pulls from the store. Entries leave the inbox on P2P_ACK.
 */
export class P2PDelivery {
  constructor(private readonly d: P2PDeliveryDeps) {}

  /** Create the session's inbox stream and start catching up from the store. */
  async openInbox(session: Session): Promise<void> {
    const { store } = this.d;
    // Everything still in the inbox is redelivered (at least once): start before the oldest entry.
    // The head is read first: positions up to it that the catch-up does not find were acknowledged.
    const head = (await store.inboxHeads([session.clientId])).get(session.clientId) ?? 0;
    const first = await store.inboxRange(session.clientId, 0, 1);
    if (session.ended) return;
    const start = first.length > 0 ? first[0]!.ipos - 1 : head;
    const stream = deliveryStream(start, new InboxFeed(session, this.d));
    session.inbox = stream;
    stream.open(head);
  }

  /** After the store committed a p2p message: hand it to the recipient here, or to the router. */
  deliver(msg: StoredMessage, ipos: number): void {
    const local = this.d.sessions.get(msg.to);
    if (local) {
      this.offer(local, msg, ipos);
      return;
    }
    // One router of those linked here, chosen by the recipient (several routers forward each
    // message once). Nobody subscribed (routers down): the recipient's msg_server finds it by its sweep.
    const e: RouteP2P = { type: "route-p2p", to: msg.to, from: msg.from, body: msg.body, uuid: msg.uuid, ipos, seq: msg.seq, ts: msg.ts };
    const line = encodeEnvelope(e);
    if (this.d.channels.publishOne(Channel.SEND, msg.to, line)) this.d.stats.routedOut++;
    hop(msg.uuid, "publish");
    if (this.d.channels.subscriberCount(Channel.SEND_WATCH) > 0) this.d.channels.publish(Channel.SEND_WATCH, line);
  }

  /**
   * A message the router sent here. False when the recipient is not here: the router's location
   * cache is stale (the caller answers ROUTE_NACK); the message is safe in the store either way.
   */
  routed(e: RouteP2P): boolean {
    this.d.stats.routedIn++;
    hop(e.uuid, "routed-in");
    const s = this.d.sessions.get(e.to);
    if (!s) {
      this.d.stats.routeNacks++;
      return false;
    }
    this.offer(s, routedMessage(e), e.ipos);
    return true;
  }

  /** A route to this client was lost: read its inbox from the store now. */
  resync(clientId: string): void {
    this.d.sessions.get(clientId)?.inbox?.pull();
  }

  private offer(session: Session, msg: StoredMessage, ipos: number): void {
    if (session.inbox) session.inbox.offer(ipos, msg);
    else this.d.log.debug({ clientId: session.clientId }, "message before inbox opened; login sync will read it");
  }

  /** A router died: whatever it held for our sessions is read from the store now (see OrderedStream.catchUp). */
  async repair(): Promise<void> {
    await this.eachHead((s, head) => s.inbox?.catchUp(head));
  }

  /** Safety net for lost routes: compare each local inbox head with what the connection has seen. */
  async sweep(): Promise<void> {
    await this.eachHead((s, head) => s.inbox?.behind(head));
  }

  private async eachHead(fn: (s: Session, head: number) => void): Promise<void> {
    const sessions = [...this.d.sessions.values()].filter((s) => s.inbox && !s.ended);
    for (let i = 0; i < sessions.length; i += SWEEP_SLICE) {
      const slice = sessions.slice(i, i + SWEEP_SLICE);
      const heads = await this.d.store.inboxHeads(slice.map((s) => s.clientId));
      for (const s of slice) fn(s, heads.get(s.clientId) ?? 0);
    }
  }
}

/** One session's inbox as its stream sees it (see DeliveryFeed). */
class InboxFeed extends DeliveryFeed {
  constructor(
    private readonly session: Session,
    private readonly d: P2PDeliveryDeps,
  ) {
    super(session.conn, d.cfg.syncBatch, d.store.atomicAppends);
  }

  push(pos: number, msg: StoredMessage): boolean {
    this.d.stats.msgsOut++;
    this.session.unacked.set(msg.uuid, pos);
    const ok = this.conn.send(this.conn.dialect.p2pPush(msg));
    hop(msg.uuid, "push");
    return ok;
  }

  async pull(after: number, limit: number): Promise<StreamEntry<StoredMessage>[]> {
    this.d.stats.storePulls++;
    const entries = await this.d.store.inboxRange(this.session.clientId, after, limit);
    return entries.map((e) => ({ pos: e.ipos, item: e.msg }));
  }

  onError(err: unknown): void {
    this.d.log.warn({ err, clientId: this.session.clientId }, "inbox pull failed; the sweep will retry");
  }
}
