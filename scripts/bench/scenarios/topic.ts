/**
 * topic: T topics of K members each (distinct clients, placed by the gateway, so every topic has
 * members on every msg_server), S senders per topic. Every member, the sender included, must get
 * every message once and in order per sender. Members acknowledge cumulatively (TOPIC_ACK with
 * the highest seq seen) once per inbound chunk, as an efficient client would.
 */
import { Cmd, type Command } from "../../../shared/protocol/commands.js";
import { type BenchConn, Kind, loginThroughGateway, type ConnHandlers } from "../bench-conn.js";
import { closeAll, loginAll, pool, sleep, withTimeout } from "../clients.js";
import { LoadEngine } from "../load.js";
import { loadFigures } from "./figures.js";
import type { ScenarioContext, ScenarioOutput } from "./context.js";

const SETUP_TIMEOUT_MS = 15_000;

export async function runTopic(ctx: ScenarioContext): Promise<ScenarioOutput> {
  const { opts, tag } = ctx;
  const T = opts.topics;
  const K = opts.members;
  const S = Math.min(opts.senders, K);
  const ids: string[] = [];
  const topicOf: string[] = [];
  for (let t = 0; t < T; t++) {
    for (let m = 0; m < K; m++) {
      ids.push(`${tag}-t${t}m${m}`);
      topicOf.push(`${tag}-t${t}`);
    }
  }
  ctx.progress(`logging in ${ids.length} clients through ${ctx.target.gateway}`);
  const conns = await loginAll(ids, { gateway: ctx.target.gateway, codec: opts.codec, concurrency: opts.concurrency, sourceIps: opts.sourceIps });
  try {
    await createTopics(ctx, [...new Set(topicOf)]);
    ctx.progress(`joining ${ids.length} members to ${T} topics`);
    await pool(conns.length, opts.concurrency, async (i) => {
      const c = conns[i]!;
      const r = await withTimeout(c.request(Kind.JOIN, { name: Cmd.JOIN_TOPIC, args: [topicOf[i]!, c.clientId] }), SETUP_TIMEOUT_MS, `JOIN_TOPIC by ${c.clientId}`);
      if (r.name !== Cmd.LOCATE_TOPIC_MSG_ADDR) throw new Error(`JOIN_TOPIC by ${c.clientId}: ${r.name} ${r.args.join(" ")}`);
    });
    const engine = new LoadEngine(opts, ids, { start: () => ctx.meter.begin(), end: () => ctx.meter.end() });
    const acks = new TopicAcks(conns.length);
    const handlers = topicHandlers(engine, acks, topicOf);
    for (const c of conns) c.handlers = handlers;
    const servers = new Set<string>();
    for (let t = 0; t < T; t++) {
      const members = Array.from({ length: K }, (_, m) => t * K + m);
      for (const i of members) servers.add(conns[i]!.addr);
      for (let s = 0; s < S; s++) engine.addSender(conns[t * K + s]!, Cmd.SEND_MESSAGE_TOPIC, topicOf[t * K]!, members);
    }
    await sleep(opts.settleMs);
    ctx.progress(`sending: ${T * S} senders, ${K} recipients per message, ${opts.rate > 0 ? `${opts.rate} msg/s` : `unpaced, window ${opts.window}`}`);
    const r = await engine.run();
    const out = loadFigures(r, opts.codec);
    return {
      params: {
        topics: T,
        membersPerTopic: K,
        sendersPerTopic: S,
        msgServersWithMembers: servers.size,
        load: opts.rate > 0 ? `${opts.rate} msg/s` : `unpaced, window ${opts.window}`,
        bodyBytes: opts.bodyBytes,
      },
      ...out,
    };
  } finally {
    closeAll(conns);
  }
}

/** Topics are created by a separate client with replies (line, or json over WebSocket), so set-up works (and fails loudly) in every codec. */
async function createTopics(ctx: ScenarioContext, names: string[]): Promise<void> {
  const admin = await loginThroughGateway(ctx.target.gateway, `${ctx.tag}-admin`, ctx.opts.codec === "json" ? "json" : "line");
  try {
    for (const name of names) {
      const r = await withTimeout(admin.request(Kind.CREATE, { name: Cmd.CREATE_TOPIC, args: [name] }), SETUP_TIMEOUT_MS, `CREATE_TOPIC ${name}`);
      if (r.name !== Cmd.OK) throw new Error(`CREATE_TOPIC ${name}: ${r.name} ${r.args.join(" ")}`);
    }
  } finally {
    admin.close();
  }
}

/** Highest topic seq seen and acknowledged per client (each client is in one topic). */
class TopicAcks {
  readonly seen: Float64Array;
  readonly acked: Float64Array;
  constructor(n: number) {
    this.seen = new Float64Array(n);
    this.acked = new Float64Array(n);
  }
}

function topicHandlers(engine: LoadEngine, acks: TopicAcks, topicOf: readonly string[]): ConnHandlers {
  return {
    onReply(conn: BenchConn, kind: Kind, a: number, b: number, reply: Command) {
      if (kind === Kind.SEND) engine.onSendReply(conn, a, b, reply);
      else if (reply.name === Cmd.ERR) engine.countError(`TOPIC_ACK ${reply.args[0] ?? "?"}`);
    },
    // Only the server can close a connection before the run ends. The tool does not reconnect, so
    // what that client was still owed counts as lost: the note says why.
    onClose() {
      engine.countError("connection closed by the server");
    },
    onPush(conn: BenchConn, cmd: Command) {
      if (cmd.name !== Cmd.RESP_MESSAGE_TOPIC) {
        engine.countError(`push ${cmd.name}`);
        return;
      }
      const [, body = "", from = "", , seq] = cmd.args;
      engine.onDelivery(conn.idx, from, body);
      const sq = Number(seq);
      if (sq > acks.seen[conn.idx]!) acks.seen[conn.idx] = sq;
    },
    onChunkEnd(conn: BenchConn) {
      // v1 packet clients have no TOPIC_ACK (the server advances their cursor itself).
      const i = conn.idx;
      if (conn.codec === "packet" || acks.seen[i]! <= acks.acked[i]!) return;
      acks.acked[i] = acks.seen[i]!;
      conn.send(Kind.TOPIC_ACK, `${Cmd.TOPIC_ACK} ${topicOf[i]!} ${acks.seen[i]!}\n`, null);
    },
  };
}
