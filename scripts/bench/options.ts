/**
 * Command line of the load tool: `npm run bench -- <scenario> [options]`. Defaults depend on the
 * scenario (the sizes of issue 6's targets); `--smoke` shrinks everything to a few seconds for CI.
 * All validation happens here, once, so scenarios get a complete, frozen BenchOptions.
 */
import { Command as Commander, InvalidArgumentError, Option } from "commander";
import { resolve } from "node:path";
import type { BenchCodec } from "./bench-conn.js";
import type { InjectOptions } from "./inject.js";
import { OWN_DIST, type ServiceConf, type TargetSpec } from "./target.js";

export const SCENARIOS = ["p2p", "topic", "login", "idle", "curve"] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type Pairing = "same" | "cross" | "random";

export interface BenchOptions {
  scenario: Scenario;
  /** How clients reach the msg_servers: TCP (REQ_MSG_SERVER), or WebSocket (GET /v1/endpoint). */
  transport: "tcp" | "ws";
  /** "json" exactly when the transport is ws. */
  codec: BenchCodec;
  /** p2p: clients (pairs = clients / 2); login, idle: connections. */
  clients: number;
  pairing: Pairing;
  /** Offered load in messages per second over all senders; 0 = unpaced (closed loop, `window` in flight per sender). */
  rate: number;
  window: number;
  durationSec: number;
  /** When > 0, send exactly this many messages in all and ignore durationSec. */
  messages: number;
  /** Excluded from rates and latency (still checked for correctness). */
  warmupSec: number;
  bodyBytes: number;
  topics: number;
  members: number;
  /** Senders per topic. */
  senders: number;
  /** login: logins in flight at once; also the login fan-in of the other scenarios. */
  concurrency: number;
  holdSec: number;
  pingMs: number;
  /** After sending stops, the drain ends after this long without any reply or delivery; what is still owed then is lost. */
  drainMs: number;
  /** Upper bound of the drain even while messages keep arriving. */
  drainMaxMs: number;
  /** After logins: how long the cluster gets to propagate sessions before sending starts. */
  settleMs: number;
  runs: number;
  json: string | null;
  seed: number;
  inject: InjectOptions;
  /** Loopback source addresses to spread connections over (127.0.0.1, .2, ...), or null for automatic (clients.ts). */
  sourceIps: number | null;
  /** Where services write CPU profiles, or null. */
  cpuProfDir: string | null;
  /** curve: the offered loads, msg/s, one step each (ascending). */
  loads: number[];
  /** curve: write the chart of the medians here (SVG), or null. */
  svg: string | null;
  /** Where msg_servers and routers write their traces (GC, event-loop lag, store commits) and the timeline goes, or null. */
  traceDir: string | null;
  /** One target, or two with --compare-*: run in alternation A B A B. */
  targets: TargetSpec[];
}

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
  return n;
};
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError("expected a non-negative number");
  return n;
};

function defaultsFor(s: Scenario, smoke: boolean) {
  const base = { clients: 200, durationSec: 10, messages: 0, warmupSec: 2, drainMs: 10_000, topics: 20, members: 100, senders: 5, window: 32, holdSec: 10 };
  if (s === "topic") base.window = 8;
  if (s === "login") base.clients = 10_000;
  if (s === "idle") base.clients = 50_000;
  if (!smoke) return base;
  return { ...base, clients: s === "idle" || s === "login" ? 200 : 20, messages: s === "topic" ? 100 : 200, warmupSec: 0, drainMs: 5000, topics: 2, members: 5, senders: 2, durationSec: 3, holdSec: 2 };
}

export function parseOptions(argv: readonly string[]): BenchOptions {
  const p = new Commander("bench")
    .description("FishChat load tool with a correctness checker (issue 6). See BENCHMARKS.md.")
    .addArgument(new Commander().createArgument("<scenario>", "p2p | topic | login | idle | curve").choices(SCENARIOS))
    .addOption(new Option("--codec <codec>", "client codec over TCP").choices(["line", "packet"]))
    .addOption(new Option("--transport <transport>", "tcp, or ws: WebSocket clients (JSON dialect) logged in through the gateway's GET /v1/endpoint").choices(["tcp", "ws"]).default("tcp"))
    .option("--clients <n>", "p2p: clients in pairs (200); login: logins (10000); idle: connections (50000)", int(1))
    .addOption(new Option("--pairing <how>", "p2p: partners on the same msg_server, different ones, or at random").choices(["same", "cross", "random"]).default("cross"))
    .option("--rate <msgs/s>", "fixed offered load over all senders (default: unpaced)", num, 0)
    .option("--window <n>", "unpaced: messages awaiting their OK per sender (p2p 32, topic 8)", int(1))
    .option("--duration <s>", "seconds of sending after the warm-up (10)", num)
    .option("--messages <n>", "send exactly n messages in all instead of --duration", int(1))
    .option("--warmup <s>", "seconds at the start left out of rates and latency (2; 0 with --messages)", num)
    .option("--size <bytes>", "message body size", int(8), 64)
    .option("--topics <n>", "topic: number of topics (20)", int(1))
    .option("--members <n>", "topic: members per topic (100)", int(1))
    .option("--senders <n>", "topic: senders per topic (5)", int(1))
    .option("--concurrency <n>", "logins in flight at once", int(1), 200)
    .option("--hold <s>", "idle: seconds to hold the connections (default 10)", num)
    .option("--ping-ms <ms>", "idle: SEND_PING interval per connection (v1 clients: 20000)", int(100), 20_000)
    .option("--drain-ms <ms>", "after sending stops: quiet time (no reply, no delivery) that ends the drain; still owed = lost (default 10000)", int(0))
    .option("--drain-max-ms <ms>", "upper bound of the drain while messages keep arriving", int(0), 120_000)
    .option("--settle-ms <ms>", "pause between logins and sending", int(0), 500)
    .option("--runs <n>", "repetitions (medians are reported)", int(1), 1)
    .option("--json <file>", "also write the results as JSON")
    .option("--seed <n>", "seed of the random pairing", int(0), 1)
    .option("--inject-loss <n>", "testing the checker: drop n deliveries before counting", int(0), 0)
    .option("--inject-dup <n>", "testing the checker: count n deliveries twice", int(0), 0)
    .option("--inject-reorder <n>", "testing the checker: swap n deliveries with the next of their stream", int(0), 0)
    .option("--source-ips <n>", "loopback source addresses 127.0.0.1..n to spread connections over (default: one per 20,000 connections)")
    .option("--smoke", "tiny sizes for CI: p2p 20 clients and 200 messages, topic 2x5 members and 100 messages, login/idle 200", false)
    .option("--gateway <host:port>", "target an existing cluster instead of starting one (with --transport ws: its gateway's HTTP listener)")
    .option("--redis <host:port>", "with --gateway: its Redis, to find process pids in the registry")
    .option("--redis-prefix <prefix>", "with --redis: the cluster's key prefix", "fc:")
    .option("--compare-dist <dir>", "also start clusters from another build's dist/ and alternate A B A B")
    .option("--compare-gateway <host:port>", "with --gateway: a second existing cluster to alternate with")
    .option("--compare-conf <json>", "own cluster: alternate with this build started with this extra config (over --conf), e.g. to price an option")
    .option("--compare-tls", "own cluster: alternate with this build with --tls flipped (the cost of TLS)", false)
    .option("--msg-servers <n>", "own cluster: msg_servers to start (default 2; idle: 1)", int(1))
    .option("--lean-cluster", "own cluster: no manager and no monitor", false)
    .option("--tls", "own cluster with TLS everywhere (client listeners, mutual TLS links, test certificates); clients connect over TLS", false)
    .option("--conf <json>", 'own cluster: extra config per service, e.g. {"msg_server":{"syncBatch":1000}}')
    .option("--keep", "own cluster: keep its directory (logs, store) after the run", false)
    .option("--cpu-prof <dir>", "own cluster: write a CPU profile of every service into dir (see profile-summary.js)")
    .option("--loads <list>", "curve: offered loads in msg/s, comma-separated", "1000,5000,10000,15000,20000")
    .option("--svg <file>", "curve: also write the chart (medians per target) as SVG")
    .option("--trace-dir <dir>", "own cluster: msg_servers and routers trace GC pauses, event-loop lag and store commits into dir; the tool renders dir/timeline.svg")
    .showHelpAfterError();
  p.parse(argv as string[], { from: "node" });
  const o = p.opts();
  const scenario = p.args[0] as Scenario;
  const d = defaultsFor(scenario, o.smoke as boolean);
  const pick = <T>(v: T | undefined, dv: T): T => (v === undefined ? dv : v);

  const clients = pick(o.clients as number | undefined, d.clients);
  const sourceIps = o.sourceIps === undefined ? null : int(1)(o.sourceIps as string);
  if (sourceIps !== null && sourceIps > 250) throw new InvalidArgumentError("--source-ips: at most 250");
  const transport = o.transport as "tcp" | "ws";
  const loads = parseLoads(o.loads as string);
  if (scenario === "curve" && (o.rate as number) > 0) throw new InvalidArgumentError("curve: give the offered loads with --loads, not --rate");
  if (o.svg && scenario !== "curve") throw new InvalidArgumentError("--svg: only the curve scenario draws a chart (--trace-dir draws the timeline)");
  if (o.traceDir && o.gateway) throw new InvalidArgumentError("--trace-dir: only for a cluster the tool starts (not with --gateway)");
  if (transport === "ws" && o.codec !== undefined) throw new InvalidArgumentError("--codec applies to --transport tcp; WebSocket clients speak the JSON dialect");
  const targets = targetSpecs(o, scenario, transport === "ws");
  // --duration on its own switches a smoke run (which counts messages) back to timed sending.
  const messages = pick(o.messages as number | undefined, o.duration !== undefined ? 0 : d.messages);
  return Object.freeze({
    scenario,
    transport,
    codec: transport === "ws" ? "json" : ((o.codec as BenchCodec | undefined) ?? "line"),
    clients,
    pairing: o.pairing as Pairing,
    rate: o.rate as number,
    window: pick(o.window as number | undefined, d.window),
    durationSec: pick(o.duration as number | undefined, d.durationSec),
    messages,
    warmupSec: pick(o.warmup as number | undefined, messages > 0 ? 0 : d.warmupSec),
    bodyBytes: o.size as number,
    topics: pick(o.topics as number | undefined, d.topics),
    members: pick(o.members as number | undefined, d.members),
    senders: pick(o.senders as number | undefined, d.senders),
    concurrency: o.concurrency as number,
    holdSec: pick(o.hold as number | undefined, d.holdSec),
    pingMs: o.pingMs as number,
    drainMs: pick(o.drainMs as number | undefined, d.drainMs),
    drainMaxMs: o.drainMaxMs as number,
    settleMs: o.settleMs as number,
    runs: o.runs as number,
    json: (o.json as string | undefined) ?? null,
    seed: o.seed as number,
    inject: { loss: o.injectLoss as number, dup: o.injectDup as number, reorder: o.injectReorder as number },
    sourceIps,
    cpuProfDir: o.cpuProf ? resolve(o.cpuProf as string) : null,
    loads,
    svg: (o.svg as string | undefined) ?? null,
    traceDir: o.traceDir ? resolve(o.traceDir as string) : null,
    targets,
  });
}

function targetSpecs(o: Record<string, unknown>, scenario: Scenario, ws: boolean): TargetSpec[] {
  const prefix = o.redisPrefix as string;
  if (o.gateway) {
    if (o.compareDist || o.compareConf || o.compareTls) throw new InvalidArgumentError("--compare-dist, --compare-conf and --compare-tls start clusters; use --compare-gateway with --gateway");
    const a: TargetSpec = { kind: "gateway", gateway: o.gateway as string, label: `A ${o.gateway as string}`, redis: (o.redis as string) ?? null, prefix };
    if (!o.compareGateway) return [a];
    return [a, { kind: "gateway", gateway: o.compareGateway as string, label: `B ${o.compareGateway as string}`, redis: null, prefix }];
  }
  if (o.compareGateway) throw new InvalidArgumentError("--compare-gateway needs --gateway");
  const conf = jsonConf(o.conf, "--conf");
  const own = {
    kind: "dist" as const,
    msgServers: (o.msgServers as number | undefined) ?? (scenario === "idle" ? 1 : 2),
    conf,
    lean: o.leanCluster as boolean,
    keep: o.keep as boolean,
    ws,
    tls: o.tls as boolean,
  };
  const comparing = [o.compareDist, o.compareConf, o.compareTls].filter(Boolean).length;
  if (comparing > 1) throw new InvalidArgumentError("one of --compare-dist, --compare-conf, --compare-tls at a time");
  const a: TargetSpec = { ...own, dist: OWN_DIST, label: comparing ? `A this build${own.tls ? " (TLS)" : ""}` : "this build" };
  if (o.compareConf) {
    const extra = jsonConf(o.compareConf, "--compare-conf");
    const merged: ServiceConf = { ...conf };
    for (const [svc, c] of Object.entries(extra) as [keyof ServiceConf, Record<string, unknown>][]) merged[svc] = { ...conf[svc], ...c };
    return [a, { ...own, dist: OWN_DIST, conf: merged, label: `B this build + ${o.compareConf as string}` }];
  }
  if (o.compareTls) return [a, { ...own, dist: OWN_DIST, tls: !own.tls, label: `B this build${own.tls ? " without" : " with"} TLS` }];
  if (!o.compareDist) return [a];
  const other = resolve(o.compareDist as string);
  return [a, { ...own, dist: other, label: `B ${other}` }];
}

/** "1000,5000" -> [1000, 5000], ascending, each > 0. */
export function parseLoads(raw: string): number[] {
  const v = raw.split(",").map((x) => Number(x.trim()));
  if (v.length === 0 || v.some((x) => !Number.isFinite(x) || x <= 0)) throw new InvalidArgumentError("--loads: comma-separated positive numbers, e.g. 1000,5000,10000");
  return [...new Set(v)].sort((a, b) => a - b);
}

function jsonConf(raw: unknown, flag: string): ServiceConf {
  if (!raw) return {};
  try {
    const v = JSON.parse(raw as string) as unknown;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) return v as ServiceConf;
  } catch {
    // reported below
  }
  throw new InvalidArgumentError(`${flag} must be a JSON object`);
}
