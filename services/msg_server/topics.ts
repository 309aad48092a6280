import { Channel, Cmd, type Command } from "../../shared/protocol/commands.js";
import { encode } from "../../shared/protocol/codec.js";
import type { StoredMessage } from "../../shared/store/store.js";
import { GAP_WAIT_MS, OrderedStream } from "./ordered-stream.js";
import type { Session } from "./session.js";
import type { MsgServer } from "./msg-server.js";

/** Sender id of notices we generate; client ids cannot start with "$" (shared/validate.ts). */
export const SYSTEM_SENDER = "$system";

/** `RESP_MESSAGE_TOPIC [name, msg, from]` (v1); line mode appends uuid, seq and ts. */
export function topicPush(packet: boolean, msg: StoredMessage): Command {
  return packet
    ? { name: Cmd.RESP_MESSAGE_TOPIC, args: [msg.conv, msg.body, msg.from] }
    : { name: Cmd.RESP_MESSAGE_TOPIC, args: [msg.conv, msg.body, msg.from, msg.uuid, String(msg.seq), String(msg.ts)] };
}

/**
 * The push of one message, encoded once per codec and shared by every member it goes to. Keyed
 * weakly by the message object, which fan-out hands to all local members: formatting it per
 * member was the largest cost after write() in the topic benchmark.
 */
const encodedPushes = new WeakMap<StoredMessage, { line?: string; packet?: Buffer }>();

export function encodedTopicPush(packet: boolean, msg: StoredMessage): string | Buffer {
  let e = encodedPushes.get(msg);
  if (!e) encodedPushes.set(msg, (e = {}));
  if (packet) return (e.packet ??= encode("packet", topicPush(true, msg)) as Buffer);
  return (e.line ??= encode("line", topicPush(false, msg)) as string);
}

/**
 * Topics as seen by this msg_server: which local sessions are members, their per-topic streams,
 * and the router's view (TOPIC_ONLINE/TOPIC_OFFLINE when the first member arrives or the last
 * leaves), which lets the router send a topic message only to servers that need it.
 */
export class LocalTopics {
  private readonly members = new Map<string, Set<Session>>();

  constructor(private readonly srv: MsgServer) {}

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
    for (let i = 0; i < names.length; i += 500) out.push({ name: Cmd.TOPIC_SNAPSHOT, args: names.slice(i, i + 500) });
    if (out.length === 0) out.push({ name: Cmd.TOPIC_SNAPSHOT, args: [] });
    return out;
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
    const n = this.srv.channels.publish(Channel.TOPIC_SYNC, {
      name: Cmd.ROUTE_MESSAGE_TOPIC,
      args: [msg.conv, msg.body, msg.from, msg.uuid, String(msg.seq), String(msg.ts)],
    });
    if (n > 0) this.srv.stats.topicRoutedOut++;
  }

  /** Start delivering `name` to the session from position `start` (exclusive). */
  attach(session: Session, name: string, start: number): void {
    if (session.ended || session.topics.has(name)) return;
    const { srv } = this;
    const stream = new OrderedStream<StoredMessage>(start, {
      push: (_pos, msg) => {
        srv.stats.topicDeliveries++;
        if (session.autoAckTopics) session.dirtyCursors.set(name, msg.seq);
        return session.conn.sendEncoded(encodedTopicPush(session.conn.codec === "packet", msg));
      },
      pull: async (after, limit) => {
        srv.stats.storePulls++;
        const msgs = await srv.store.topicRange(name, after, limit);
        return msgs.map((m) => ({ pos: m.seq, item: m }));
      },
      congested: () => srv.congested(session.conn),
    writable: () => srv.writable(session.conn),
      batch: srv.cfg.syncBatch,
      skipHoles: srv.store.atomicAppends,
      maxStash: srv.cfg.syncBatch * 4,
      holeGraceMs: 2000,
      gapWaitMs: GAP_WAIT_MS,
      onError: (err) => srv.log.warn({ err, topic: name }, "topic pull failed; the sweep will retry"),
    });
    session.topics.set(name, stream);
    let set = this.members.get(name);
    if (!set) {
      set = new Set();
      this.members.set(name, set);
      srv.channels.publish(Channel.TOPIC_SYNC, { name: Cmd.TOPIC_ONLINE, args: [name] });
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
      this.srv.channels.publish(Channel.TOPIC_SYNC, { name: Cmd.TOPIC_OFFLINE, args: [name] });
    }
  }

  detachAll(session: Session): void {
    for (const name of [...session.topics.keys()]) this.detach(session, name);
  }

  /**
   * At login: attach every topic the client belongs to, resuming after its acknowledged position,
   * within the offline backlog bound (count and age). Beyond it the client gets a notice saying
   * how many messages it missed, never silence.
   */
  async loginSync(session: Session): Promise<void> {
    const { store, cfg } = this.srv;
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
    const { store, cfg } = this.srv;
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
    session.conn.send(
      session.conn.codec === "packet"
        ? { name: Cmd.RESP_MESSAGE_TOPIC, args: [name, `(${dropped} earlier messages exceeded the offline backlog limit and were not kept for you)`, SYSTEM_SENDER] }
        : { name: Cmd.TOPIC_GAP, args: [name, String(dropped)] },
    );
  }

  /** Safety net for lost topic routes: compare each topic's head with what local members have seen. */
  async sweep(): Promise<void> {
    const names = this.names();
    for (let i = 0; i < names.length; i += 1000) {
      const chunk = names.slice(i, i + 1000);
      const heads = await this.srv.store.topicHeads(chunk);
      for (const name of chunk) {
        const head = heads.get(name) ?? 0;
        for (const s of this.members.get(name) ?? []) s.topics.get(name)?.behind(head);
      }
    }
  }
}
