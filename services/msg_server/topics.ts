import type { Logger } from "../../shared/log/logger.js";
import { Channel, type Command } from "../../shared/protocol/commands.js";
import type { Dialect } from "../../shared/protocol/dialect.js";
import { encodeEnvelope } from "../../shared/protocol/envelope.js";
import type { Store, StoredMessage } from "../../shared/store/store.js";
import type { ChannelHub } from "./channels.js";
import type { MsgServerConfig } from "./config.js";
import type { OrderedStream, StreamEntry } from "./ordered-stream.js";
import type { Session } from "./session.js";
import type { MsgServerStats } from "./stats.js";
import { DeliveryFeed, deliveryStream } from "./streams.js";

export interface LocalTopicsDeps {
  cfg: Pick<MsgServerConfig, "syncBatch" | "topicBacklogMax" | "topicBacklogMaxAgeMs">;
  store: Store;
  stats: MsgServerStats;
  channels: ChannelHub;
  log: Logger;
}

/** Topic names per TOPIC_SNAPSHOT line, and per store call of a sweep. */
const SNAPSHOT_SLICE = 500;
const SWEEP_SLICE = 1000;

/** Sender id of notices we generate; client ids cannot start with "$" (shared/validate.ts). */
export const SYSTEM_SENDER = "$system";

const EMPTY: ReadonlySet<Session> = new Set();

/**
 * The push of one message, encoded once per dialect and shared by every member it goes to. Keyed
 * weakly by the message object, which fan-out hands to all local members: formatting it per
 * member was the largest cost after write() in the topic benchmark.
 */
const encodedPushes = new WeakMap<StoredMessage, Map<Dialect, string | Buffer>>();

export function encodedTopicPush(dialect: Dialect, msg: StoredMessage): string | Buffer {
  let byDialect = encodedPushes.get(msg);
  if (!byDialect) encodedPushes.set(msg, (byDialect = new Map()));
  let bytes = byDialect.get(dialect);
  if (bytes === undefined) byDialect.set(dialect, (bytes = dialect.encode(dialect.topicPush(msg))));
  return bytes;
}

/**
 * Topics as seen by this msg_server: which local sessions are members, their per-topic streams,
 * and the router's view (TOPIC_ONLINE/TOPIC_OFFLINE when the first member arrives or the last
 * leaves), which lets the router send a topic message only to servers that need it.
 */
export class LocalTopics {
  private readonly members = new Map<string, Set<Session>>();

  constructor(private readonly d: LocalTopicsDeps) {}

  get count(): number {
    return this.members.size;
  }

  names(): string[] {
    return [...this.members.keys()];
  }

  /** The snapshot sent to a new /sysctrl/topic-sync subscriber, in lines of at most 500 names. */
  snapshot(): Command[] {
    const names = this.names();
    const out: Command[] = [];
    for (let i = 0; i < names.length; i += SNAPSHOT_SLICE) out.push(encodeEnvelope({ type: "topic-snapshot", topics: names.slice(i, i + SNAPSHOT_SLICE) }));
    if (out.length === 0) out.push(encodeEnvelope({ type: "topic-snapshot", topics: [] }));
    return out;
  }

  /** This server's online members of the topic (for notices: typing, member join/leave, presence). */
  localMembers(name: string): ReadonlySet<Session> {
    return this.members.get(name) ?? EMPTY;
  }

  /** Deliver to this server's online members of the topic. Returns the number of sessions offered it. */
  fanoutLocal(msg: StoredMessage): number {
    const set = this.members.get(msg.conv);
    if (!set) return 0;
    for (const s of set) s.topics.get(msg.conv)?.offer(msg.seq, msg);
    return set.size;
  }

  /** Hand a committed topic message to the router for the other servers with members online. */
  route(msg: StoredMessage): void {
    const e = { type: "route-topic" as const, topic: msg.conv, from: msg.from, body: msg.body, uuid: msg.uuid, seq: msg.seq, ts: msg.ts };
    // One router, chosen by the topic: with several, each forwards a given topic's messages alone.
    if (this.d.channels.publishOne(Channel.TOPIC_SYNC, msg.conv, encodeEnvelope(e))) this.d.stats.topicRoutedOut++;
  }

  /** Start delivering `name` to the session from position `start` (exclusive). */
  attach(session: Session, name: string, start: number): void {
    if (session.ended || session.topics.has(name)) return;
    const { d } = this;
    const stream = deliveryStream(start, new TopicFeed(session, name, d));
    session.topics.set(name, stream);
    let set = this.members.get(name);
    if (!set) {
      set = new Set();
      this.members.set(name, set);
      d.channels.publish(Channel.TOPIC_SYNC, encodeEnvelope({ type: "topic-online", topics: [name] }));
    }
    set.add(session);
    stream.open();
  }

  detach(session: Session, name: string): void {
    session.topics.get(name)?.close();
    session.topics.delete(name);
    const set = this.members.get(name);
    if (!set) return;
    set.delete(session);
    if (set.size === 0) {
      this.members.delete(name);
      this.d.channels.publish(Channel.TOPIC_SYNC, encodeEnvelope({ type: "topic-offline", topics: [name] }));
    }
  }

  detachAll(session: Session): void {
    for (const name of session.topicNames()) this.detach(session, name);
  }

  /**
   * At login: attach every topic the client belongs to, resuming after its acknowledged position,
   * within the offline backlog bound (count and age). Beyond it the client gets a notice saying
   * how many messages it missed, never silence.
   */
  async loginSync(session: Session): Promise<void> {
    const { store, cfg } = this.d;
    const names = await store.topicsOf(session.clientId);
    if (names.length === 0 || session.ended) return;
    const heads = await store.topicHeads(names);
    for (const name of names) {
      if (session.ended) return;
      const head = heads.get(name) ?? 0;
      let start = await store.getCursor(session.clientId, name);
      let dropped = 0;
      if (head - start > cfg.topicBacklogMax) {
        dropped = head - start - cfg.topicBacklogMax;
        start = head - cfg.topicBacklogMax;
      }
      const aged = await this.skipAged(name, start, head);
      dropped += aged.skipped;
      start = aged.start;
      if (dropped > 0) {
        this.notifyDropped(session, name, dropped);
        session.dirtyCursors.set(name, start);
      }
      this.attach(session, name, start);
    }
  }

  /** Skip backlog entries older than topicBacklogMaxAgeMs. */
  private async skipAged(name: string, start: number, head: number): Promise<{ start: number; skipped: number }> {
    const { store, cfg } = this.d;
    const oldest = Date.now() - cfg.topicBacklogMaxAgeMs;
    let skipped = 0;
    while (start < head) {
      const batch = await store.topicRange(name, start, cfg.syncBatch);
      if (batch.length === 0) break;
      const fresh = batch.findIndex((m) => m.ts >= oldest);
      const old = fresh === -1 ? batch : batch.slice(0, fresh);
      skipped += old.length;
      if (old.length > 0) start = old[old.length - 1]!.seq;
      if (fresh !== -1 || batch.length < cfg.syncBatch) break;
    }
    return { start, skipped };
  }

  private notifyDropped(session: Session, name: string, dropped: number): void {
    session.conn.send(session.conn.dialect.topicGap(name, dropped, SYSTEM_SENDER));
  }

  /** Safety net for lost topic routes: compare each topic's head with what local members have seen. */
  async sweep(): Promise<void> {
    await this.eachHead((stream, head) => stream.behind(head));
  }

  /** A router died: topic messages it held for our members are read from the store now. */
  async repair(): Promise<void> {
    await this.eachHead((stream, head) => stream.catchUp(head));
  }

  private async eachHead(fn: (stream: OrderedStream<StoredMessage>, head: number) => void): Promise<void> {
    const names = this.names();
    for (let i = 0; i < names.length; i += SWEEP_SLICE) {
      const chunk = names.slice(i, i + SWEEP_SLICE);
      const heads = await this.d.store.topicHeads(chunk);
      for (const name of chunk) {
        const head = heads.get(name) ?? 0;
        for (const s of this.members.get(name) ?? []) {
          const stream = s.topics.get(name);
          if (stream) fn(stream, head);
        }
      }
    }
  }
}

/** One member's stream of one topic as the stream sees it (see DeliveryFeed). */
class TopicFeed extends DeliveryFeed {
  constructor(
    private readonly session: Session,
    private readonly name: string,
    private readonly d: LocalTopicsDeps,
  ) {
    super(session.conn, d.cfg.syncBatch, d.store.atomicAppends);
  }

  push(_pos: number, msg: StoredMessage): boolean {
    this.d.stats.topicDeliveries++;
    if (this.session.autoAckTopics) this.session.dirtyCursors.set(this.name, msg.seq);
    return this.conn.sendEncoded(encodedTopicPush(this.conn.dialect, msg));
  }

  async pull(after: number, limit: number): Promise<StreamEntry<StoredMessage>[]> {
    this.d.stats.storePulls++;
    const msgs = await this.d.store.topicRange(this.name, after, limit);
    return msgs.map((m) => ({ pos: m.seq, item: m }));
  }

  onError(err: unknown): void {
    this.d.log.warn({ err, topic: this.name }, "topic pull failed; the sweep will retry");
  }
}
