/**
 * idle: hold N logged-in, idle connections (a SEND_PING every --ping-ms, as v1 clients send, so
 * the server's idle timeout does not close them) and report the RSS each costs its msg_server:
 * (RSS at the end of the hold - RSS before the first login) / connections on that server, and
 * the CPU each cluster process uses during the hold alone (`holdCpuPct:<process>`, % of a core).
 * Run against a cluster of one msg_server (the default here), so "through the gateway" and "on
 * one msg_server" agree.
 *
 * Limits: each connection is a file descriptor on both sides. The tool checks its own
 * `ulimit -n` and the msg_servers' (/proc/<pid>/limits) first and runs what fits, saying so.
 */
import { Cmd } from "../../../shared/protocol/commands.js";
import { Kind, type BenchConn, type ConnHandlers } from "../bench-conn.js";
import { closeAll, pool, sleep, sourceAddress, sourceIpCount } from "../clients.js";
import { loginThroughGateway } from "../bench-conn.js";
import { Meter, openFilesLimit, round, sampleProc } from "../proc-stats.js";
import type { ScenarioContext, ScenarioOutput } from "./context.js";

const FD_MARGIN = 200;
/** After the last login: time for the server's per-session work (inbox open, registry) to finish. */
const SETTLE_MS = 3000;
const PING_TICK_MS = 250;

export async function runIdle(ctx: ScenarioContext): Promise<ScenarioOutput> {
  const { opts, tag } = ctx;
  const notes: string[] = [];
  const servers = ctx.procs.filter((p) => p.name.startsWith("msg_server"));
  const n = feasible(opts.clients, opts.concurrency, servers.map((s) => s.pid), notes);
  const ips = sourceIpCount(opts.sourceIps, n);
  const baseline = new Map(servers.map((s) => [s.addr ?? s.name, sampleProc(s.pid)?.rssKB ?? 0]));
  const selfBase = sampleProc(process.pid)?.rssKB ?? 0;
  const conns: BenchConn[] = [];
  let dropped = 0;
  const handlers: ConnHandlers = {
    onReply() {},
    onPush() {},
    onClose: () => void dropped++,
  };
  const gw = ctx.target.gateway;
  ctx.progress(`opening ${n} idle sessions through ${gw}`);
  ctx.meter.begin();
  const t0 = Date.now();
  let failed = 0;
  const errors = new Map<string, number>();
  await pool(n, opts.concurrency, async (i) => {
    try {
      const c = await loginThroughGateway(gw, `${tag}-i${i}`, opts.codec, sourceAddress(i, ips, gw));
      c.handlers = handlers;
      conns.push(c);
    } catch (err) {
      failed++;
      const key = ((err as NodeJS.ErrnoException).code ?? (err as Error).message).slice(0, 80);
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
  });
  const loginSec = (Date.now() - t0) / 1000;
  if (failed > 0) notes.push(`${failed} of ${n} logins failed: ${[...errors].map(([k, v]) => `${k} x${v}`).join(", ")}`);
  ctx.progress(`${conns.length} sessions open after ${loginSec.toFixed(1)} s; holding ${opts.holdSec} s`);
  const pinger = startPings(conns, opts.pingMs);
  await sleep(SETTLE_MS);
  // CPU during the hold alone (the meter's window includes the logins): what idle sessions cost.
  const hold = new Meter(ctx.procs.filter((p) => p.name !== "bench"));
  hold.begin();
  const holdT0 = performance.now();
  await sleep(opts.holdSec * 1000);
  const holdSec = (performance.now() - holdT0) / 1000;
  hold.end();
  clearInterval(pinger);
  ctx.meter.end();

  const perServer = new Map<string, number>();
  for (const c of conns) if (!c.closed) perServer.set(c.addr, (perServer.get(c.addr) ?? 0) + 1);
  const metrics: Record<string, number> = { connections: conns.length - dropped, dropped, failed, loginSec: round(loginSec, 1) };
  let worst = 0;
  servers.forEach((s, k) => {
    const held = perServer.get(s.addr ?? "") ?? 0;
    const now = sampleProc(s.pid);
    if (!now || held === 0) return;
    const kb = (now.rssKB - (baseline.get(s.addr ?? s.name) ?? 0)) / held;
    metrics[`connections:msg_server#${k + 1}`] = held;
    metrics[`kbPerConn:msg_server#${k + 1}`] = round(kb, 2);
    worst = Math.max(worst, kb);
  });
  metrics.kbPerConn = round(worst, 2);
  let holdTotal = 0;
  for (const f of hold.figures()) {
    if (f.pid === 0) continue; // "other (not ours)"
    holdTotal += f.cpuSec;
    metrics[`holdCpuPct:${f.name}`] = round((f.cpuSec / holdSec) * 100, 1);
  }
  metrics["holdCpuPct:cluster"] = round((holdTotal / holdSec) * 100, 1);
  const selfNow = sampleProc(process.pid)?.rssKB ?? 0;
  if (conns.length > 0) metrics["kbPerConn:bench"] = round((selfNow - selfBase) / conns.length, 2);
  if (dropped > 0) notes.push(`${dropped} connections closed during the hold (idle timeout? server limit?)`);
  closeAll(conns);
  return {
    params: { requested: opts.clients, held: conns.length, pingMs: opts.pingMs, holdSec: opts.holdSec, sourceIps: ips },
    metrics,
    notes,
    failures: [],
  };
}

/** How many connections fit under the fd limits of this process and of the msg_servers. */
function feasible(asked: number, concurrency: number, serverPids: number[], notes: string[]): number {
  let n = asked;
  const self = openFilesLimit("self");
  if (self !== null && n + concurrency + FD_MARGIN > self) {
    n = Math.max(1, self - concurrency - FD_MARGIN);
    notes.push(`this process may open ${self} files (ulimit -n): holding ${n} of the ${asked} connections asked for`);
  }
  const limits = serverPids.map((p) => openFilesLimit(p)).filter((l): l is number => l !== null);
  if (limits.length > 0) {
    const serverCap = limits.reduce((sum, l) => sum + Math.max(0, l - FD_MARGIN), 0);
    if (n > serverCap) {
      notes.push(`the msg_server(s) may open ${limits.join(", ")} files: holding ${serverCap} connections`);
      n = serverCap;
    }
  }
  if (n < asked) notes.push("raise the hard limit (ulimit -Hn, or LimitNOFILE= in systemd) to run the full size");
  return n;
}

/** Each connection pings once per pingMs, spread evenly over the interval. */
function startPings(conns: readonly BenchConn[], pingMs: number): NodeJS.Timeout {
  let next = 0;
  const perTick = Math.max(1, Math.ceil((conns.length * PING_TICK_MS) / pingMs));
  return setInterval(() => {
    for (let k = 0; k < perTick && conns.length > 0; k++) {
      const c = conns[next++ % conns.length]!;
      if (!c.closed) c.send(Kind.PING, `${Cmd.SEND_PING} PING\n`, { name: Cmd.SEND_PING, args: ["PING"] });
    }
  }, PING_TICK_MS);
}
