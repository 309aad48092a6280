/**
 * login: N clients log in through the gateway as fast as possible, `concurrency` at a time. One
 * login = connect to the gateway, REQ_MSG_SERVER, connect to the msg_server it names,
 * SEND_CLIENT_ID, and (line codec) its OK. Sessions stay open until every login is done, so the
 * figure includes the cost of a growing session table; they are closed after the measurement.
 */
import { loginThroughGateway, premintTokens, type BenchConn } from "../bench-conn.js";
import { closeAll, pool, sourceAddress, sourceIpCount } from "../clients.js";
import { nowUs } from "../body.js";
import { Latency } from "../latency.js";
import { openFilesLimit, round } from "../proc-stats.js";
import { latencyMetrics } from "./figures.js";
import type { ScenarioContext, ScenarioOutput } from "./context.js";

/** File descriptors the tool keeps for itself (stdio, Redis, timers, the gateway connections in flight). */
const FD_MARGIN = 100;

export async function runLogin(ctx: ScenarioContext): Promise<ScenarioOutput> {
  const { opts, tag } = ctx;
  const notes: string[] = [];
  let n = opts.clients;
  const limit = openFilesLimit("self");
  if (limit !== null && n + opts.concurrency + FD_MARGIN > limit) {
    const cap = Math.max(1, limit - opts.concurrency - FD_MARGIN);
    notes.push(`asked for ${n} logins held open, but this process may open ${limit} files (ulimit -n): ran ${cap}`);
    n = cap;
  }
  if (opts.codec === "packet") notes.push("packet codec: SEND_CLIENT_ID has no reply in v1, so a login counts as done once written");
  const ips = sourceIpCount(opts.sourceIps, n);
  const conns: BenchConn[] = [];
  const lat = new Latency();
  const errors = new Map<string, number>();
  const gw = ctx.target.gateway;
  // Tokens are signed before the clock starts: the figure is the cluster's logins, not our signing.
  await premintTokens(Array.from({ length: n }, (_, i) => `${tag}-l${i}`));
  ctx.progress(`${n} logins through ${gw}, ${opts.concurrency} at a time`);
  ctx.meter.begin();
  const t0 = nowUs();
  await pool(n, opts.concurrency, async (i) => {
    const start = nowUs();
    try {
      conns.push(await loginThroughGateway(gw, `${tag}-l${i}`, opts.codec, sourceAddress(i, ips, gw)));
      lat.record(nowUs() - start);
    } catch (err) {
      const key = ((err as NodeJS.ErrnoException).code ?? (err as Error).message).slice(0, 80);
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  });
  const sec = (nowUs() - t0) / 1e6;
  ctx.meter.end();
  closeAll(conns);
  const failed = n - conns.length;
  if (failed > 0) notes.push(`${failed} logins failed: ${[...errors].map(([k, v]) => `${k} x${v}`).join(", ")}`);
  const summary = lat.summary();
  return {
    params: { logins: n, concurrency: opts.concurrency, sourceIps: ips },
    metrics: { logins: conns.length, failed, seconds: round(sec, 2), loginsPerSec: Math.round(conns.length / sec), ...latencyMetrics("latency", summary) },
    latency: summary,
    notes,
    failures: [],
  };
}
