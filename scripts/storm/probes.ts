/**
 * What the storm tool watches besides the storm's own clients: is the surviving msg_server still
 * serving the sessions it already had (a p2p probe), is the gateway still answering, and how late
 * do their event loops run (STATS samples). The probes run in a process of their own
 * (probe-main.ts): in the tool's process their latency would be the tool's own event-loop lag,
 * busy with thousands of reconnecting clients, not the servers'.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { requestMsgServer, type FishChatClient } from "../../shared/client/client.js";
import { statsOf, type ServiceProc } from "../../test/support/cluster.js";
import { sleep } from "../../test/support/ports.js";

/** One probe request: when it was sent (epoch ms, comparable across processes), how long its reply took, whether it succeeded. */
export interface Sample {
  at: number;
  ms: number;
  ok: boolean;
  /** Why it failed: the error's code, or its message. */
  err?: string;
}

export interface ProbeSummary {
  sent: number;
  failed: number;
  maxMs: number;
  /** The longest time without a successful reply. */
  maxGapMs: number;
  /** Failures by cause. */
  errors: Record<string, number>;
}

/** Milliseconds since the epoch with performance.now()'s resolution: the same clock in every process of this machine. */
export const epochMs = () => performance.timeOrigin + performance.now();

/** A loop of timed requests every `everyMs` (the next one right away when a reply took longer), until stopped. */
export class Probe {
  readonly samples: Sample[] = [];
  private running = true;
  private readonly done: Promise<void>;

  constructor(everyMs: number, request: () => Promise<unknown>) {
    this.done = (async () => {
      while (this.running) {
        const at = epochMs();
        let err: string | undefined;
        try {
          await request();
        } catch (e) {
          err = (e as { code?: string }).code ?? String(e);
        }
        const ms = epochMs() - at;
        this.samples.push(err === undefined ? { at, ms, ok: true } : { at, ms, ok: false, err });
        if (ms < everyMs) await sleep(everyMs - ms);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

/** p2p sends from one client to another (both on the surviving msg_server), acknowledged by the store. */
export function p2pProbe(tx: FishChatClient, to: string, everyMs: number): Probe {
  let n = 0;
  return new Probe(everyMs, () => tx.sendP2P(to, `probe ${n++}`));
}

/** REQ_MSG_SERVER, a connection of its own each time, as a reconnecting client asks it. */
export function gatewayProbe(gateway: string, everyMs: number): Probe {
  return new Probe(everyMs, () => requestMsgServer(gateway, "line", 5000));
}

/** Over the samples sent in [from, to] (epoch ms): how many, failed, the slowest reply, and the longest time without a successful reply. */
export function probeWindow(samples: Sample[], from: number, to: number): ProbeSummary {
  const s = samples.filter((x) => x.at >= from && x.at <= to);
  let last = from;
  let maxGapMs = 0;
  for (const x of s) {
    if (!x.ok) continue;
    const answered = x.at + x.ms;
    maxGapMs = Math.max(maxGapMs, answered - last);
    last = answered;
  }
  maxGapMs = Math.max(maxGapMs, to - last);
  const errors: Record<string, number> = {};
  for (const x of s) if (x.err !== undefined) errors[x.err] = (errors[x.err] ?? 0) + 1;
  return { sent: s.length, failed: s.length - s.filter((x) => x.ok).length, maxMs: Math.max(0, ...s.map((x) => x.ms)), maxGapMs, errors };
}

/** What probe-main.ts prints when it is stopped. */
export interface ProbeReport {
  p2p: Sample[];
  gateway: Sample[];
}

/** The probes in their own process: resolves once they run; stop() ends them and returns their samples. */
export async function startProbeProcess(gateway: string, msgServer: string): Promise<{ stop(): Promise<ProbeReport> }> {
  const p: ChildProcess = spawn(process.execPath, [resolve(import.meta.dirname, "probe-main.js"), gateway, msgServer], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  p.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
  await Promise.race([
    (async () => {
      while (!out.includes("probes running\n")) await sleep(20);
    })(),
    exited.then((code) => {
      throw new Error(`the probe process exited with ${code} before it ran: ${out}`);
    }),
  ]);
  return {
    async stop() {
      p.kill("SIGTERM");
      const code = await exited;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code !== 0 || !line) throw new Error(`the probe process exited with ${code}: ${out.slice(-500)}`);
      return JSON.parse(line) as ProbeReport;
    },
  };
}

/** The largest event-loop delay each process reported (eventLoopLagMaxMs) over the samples taken until stopped. */
export class LagSampler {
  readonly maxLagMs = new Map<ServiceProc, number>();
  private running = true;
  private readonly done: Promise<void>;

  constructor(procs: ServiceProc[], everyMs: number) {
    this.done = (async () => {
      while (this.running) {
        await Promise.all(
          procs.map(async (p) => {
            if (!p.running) return;
            const lag = (await statsOf(p).catch(() => ({}) as Record<string, number>)).eventLoopLagMaxMs;
            if (typeof lag === "number") this.maxLagMs.set(p, Math.max(this.maxLagMs.get(p) ?? 0, lag));
          }),
        );
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}
