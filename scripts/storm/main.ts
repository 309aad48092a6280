#!/usr/bin/env node
/**
 * `npm run storm -- --clients 10000 [--bound 64]`: the reconnect storm of storm.ts on a cluster of
 * real processes this tool starts (2 msg_servers, a router, a gateway, a redis-server), printed as
 * a table. Run through scripts/storm/storm.sh, which raises the open-files limit first: each
 * client holds a socket here and one in the msg_server. Exits 1 when a client did not come back
 * or an acknowledged message was lost.
 */
import { readFileSync } from "node:fs";
import { Command, InvalidArgumentError } from "commander";
import { runStorm, type StormResult } from "./storm.js";

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("a whole number above 0");
  return n;
};
const nonNegative = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("a whole number");
  return n;
};
const opts = new Command("storm")
  .option("--clients <n>", "clients on the msg_server that is killed", int, 10_000)
  .option("--bound <n>", "loginAdmission.maxInProgress of the msg_servers (the shipped default is 64)", int, 64)
  .option("--queue <n>", "loginAdmission.maxQueued (the shipped default is 4096; 0 refuses at once past the bound)", nonNegative, 4096)
  .option("--messages <n>", "storm clients sent a message while their msg_server is frozen before the kill (default: all)", int)
  .option("--reconnect-min <ms>", "client re-login backoff minimum (client default 250)", int, 250)
  .option("--reconnect-max <ms>", "client re-login backoff maximum (client default 8000)", int, 8000)
  .option("--timeout <s>", "give up waiting for the clients after this long", int, 300)
  .parse(process.argv)
  .opts<{ clients: number; bound: number; queue: number; messages?: number; reconnectMin: number; reconnectMax: number; timeout: number }>();

/** The open-files limit of this process, as /proc reports it (soft, hard). */
function fdLimits(): { soft: string; hard: string } {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files")) ?? "";
  const [soft = "?", hard = "?"] = line.replace("Max open files", "").trim().split(/\s+/);
  return { soft, hard };
}

const s = (ms: number) => (ms < 0 ? "not all" : `${(ms / 1000).toFixed(2)} s`);
const ms = (v: number) => `${Math.round(v)} ms`;
const failures = (e: Record<string, number>) => (Object.keys(e).length ? ` (${Object.entries(e).map(([k, v]) => `${k} ${v}`).join(", ")})` : "");

function table(r: StormResult): string {
  const rows: [string, string][] = [
    ["clients / logins in progress (maxInProgress) / waiting (maxQueued)", `${r.clients} / ${r.bound} / ${r.queue}`],
    ["first phase: all logged in on A", `${s(r.initialLoginMs)} (${r.initialRefused} refused)`],
    ["kill to all logged in again", s(r.allBackMs)],
    ["back / of which on B", `${r.back} / ${r.backOnB}`],
    ["per-client reconnect p50 / p90 / p99 / max", `${ms(r.reconnect.p50Ms)} / ${ms(r.reconnect.p90Ms)} / ${ms(r.reconnect.p99Ms)} / ${ms(r.reconnect.maxMs)}`],
    ["connection loss noticed p50 / max (after the kill)", `${ms(r.noticed.p50Ms)} / ${ms(r.noticed.maxMs)}`],
    ["logins B refused (IM_ERR_RATE_LIMITED)", String(r.refusedByB)],
    ["failed attempts seen by the clients", Object.entries(r.failedAttempts).map(([k, v]) => `${k} ${v}`).join(", ") || "none"],
    ["messages acknowledged before the kill / delivered / lost", `${r.messages.acknowledged} / ${r.messages.delivered} / ${r.messages.lost} (all in ${s(r.messages.deliveredAfterMs)})`],
    ["probe on B (p2p every 50 ms): sends / failed / max latency / longest without an ack", `${r.probeB.sent} / ${r.probeB.failed}${failures(r.probeB.errors)} / ${ms(r.probeB.maxMs)} / ${ms(r.probeB.maxGapMs)}`],
    ["gateway probe (REQ_MSG_SERVER every 100 ms): requests / failed / max latency", `${r.probeGateway.sent} / ${r.probeGateway.failed}${failures(r.probeGateway.errors)} / ${ms(r.probeGateway.maxMs)}`],
    ["max event-loop lag during the storm: B / gateway", `${ms(r.maxLagMs.msgServerB)} / ${ms(r.maxLagMs.gateway)}`],
  ];
  return ["| | |", "|---|---|", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n");
}

async function main(): Promise<number> {
  const fd = fdLimits();
  const before = process.env.FISHCHAT_STORM_FD_BEFORE;
  console.log(`storm: ${opts.clients} clients, bound ${opts.bound}, queue ${opts.queue}; open files: soft ${fd.soft}, hard ${fd.hard}${before && before !== fd.soft ? ` (soft was ${before}, raised)` : ""}`);
  // Here: one socket per client plus the gateway's; the msg_server needs as many (it inherits the limit).
  if (Number(fd.soft) < opts.clients + 1000) {
    console.error(`storm: the open-files limit ${fd.soft} is too low for ${opts.clients} clients (raise it: ulimit -n)`);
    return 2;
  }
  const r = await runStorm({
    clients: opts.clients,
    bound: opts.bound,
    queue: opts.queue,
    messages: opts.messages ?? opts.clients,
    reconnectMinMs: opts.reconnectMin,
    reconnectMaxMs: opts.reconnectMax,
    timeoutMs: opts.timeout * 1000,
    log: (line) => console.log(`storm: ${line}`),
  });
  console.log(`\n${table(r)}\n`);
  const ok = r.back === r.clients && r.messages.lost === 0;
  console.log(ok ? "storm: OK" : "storm: FAILED (clients missing or messages lost)");
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
