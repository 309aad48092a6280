/**
 * p2p: clients in pairs, each sending to its partner and acknowledging what it receives
 * (P2P_ACK, as a real client must, or the server's per-recipient inbox fills up). Pairs are
 * formed from where the gateway placed each client: --pairing same | cross | random.
 */
import { Cmd, type Command } from "../../../shared/protocol/commands.js";
import { Kind, type BenchConn, type ConnHandlers } from "../bench-conn.js";
import { hopSampled } from "../../../shared/trace/hops.js";
import { closeAll, loginAll, sleep } from "../clients.js";
import { traceHopEnds } from "../delivery-trace.js";
import { LoadEngine } from "../load.js";
import { pairClients } from "../pairing.js";
import { loadFigures } from "./figures.js";
import type { ScenarioContext, ScenarioOutput } from "./context.js";

export async function runP2P(ctx: ScenarioContext): Promise<ScenarioOutput> {
  const { opts, tag } = ctx;
  const n = opts.clients - (opts.clients % 2);
  if (n < 2) throw new Error("p2p needs at least 2 clients");
  const ids = Array.from({ length: n }, (_, i) => `${tag}-p${i}`);
  ctx.progress(`logging in ${n} clients through ${ctx.target.gateway}`);
  const conns = await loginAll(ids, { gateway: ctx.target.gateway, codec: opts.codec, concurrency: opts.concurrency, sourceIps: opts.sourceIps });
  try {
    const pairs = pairClients(conns.map((c) => c.addr), opts.pairing, opts.seed);
    const engine = new LoadEngine(opts, ids, { start: () => ctx.meter.begin(), end: () => ctx.meter.end() });
    const handlers = p2pHandlers(engine);
    for (const c of conns) {
      c.handlers = handlers;
      const to = pairs.partner[c.idx]!;
      engine.addSender(c, Cmd.SEND_MESSAGE_P2P, ids[to]!, [to]);
    }
    await sleep(opts.settleMs);
    ctx.progress(`sending: ${n / 2} pairs (${pairs.crossServer} across servers), ${opts.rate > 0 ? `${opts.rate} msg/s` : `unpaced, window ${opts.window}`}`);
    const r = await engine.run();
    return {
      params: {
        clients: n,
        pairing: opts.pairing,
        crossServerPairs: pairs.crossServer,
        sameServerPairs: pairs.sameServer,
        load: opts.rate > 0 ? `${opts.rate} msg/s` : `unpaced, window ${opts.window}`,
        bodyBytes: opts.bodyBytes,
      },
      ...loadFigures(r, opts.codec),
    };
  } finally {
    closeAll(conns);
  }
}

function p2pHandlers(engine: LoadEngine): ConnHandlers {
  return {
    onReply(conn: BenchConn, kind: Kind, a: number, b: number, reply: Command) {
      if (kind === Kind.SEND) engine.onSendReply(conn, a, b, reply);
      else if (reply.name === Cmd.ERR) engine.countError(`P2P_ACK ${reply.args[0] ?? "?"}`);
    },
    // Only the server can close a connection before the run ends. The tool does not reconnect, so
    // what that client was still owed counts as lost: the note says why.
    onClose() {
      engine.countError("connection closed by the server");
    },
    onPush(conn: BenchConn, cmd: Command) {
      if (cmd.name !== Cmd.RESP_MESSAGE_P2P) {
        engine.countError(`push ${cmd.name}`);
        return;
      }
      const [body = "", from = "", uuid = ""] = cmd.args;
      engine.onDelivery(conn.idx, from, body);
      if (hopSampled(uuid)) traceHopEnds(uuid, body, (us) => engine.measured(us));
      // Acknowledge even a delivery the fault injector drops: the "loss" is in the application.
      const ack = `${Cmd.P2P_ACK} ${conn.clientId} ${uuid}\n`;
      conn.send(Kind.P2P_ACK, ack, conn.codec === "packet" ? { name: Cmd.P2P_ACK, args: [conn.clientId, uuid] } : null);
    },
  };
}
