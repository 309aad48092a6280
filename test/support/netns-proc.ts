import type { ChildProcess } from "node:child_process";
import { createWriteStream, readFileSync } from "node:fs";
import type { Host } from "./netns-host.js";
import { waitFor } from "./ports.js";

/**
 * One process on a namespace host that a fault test can kill, freeze and start again: the same
 * shape as cluster.ts's ServiceProc (name, running, proc, start, kill), so fault code works on
 * either. `ip netns exec` execs, so `proc.pid` is the process itself and signals reach it.
 */
export class NsProc {
  proc: ChildProcess | null = null;

  constructor(
    /** The role: "msg_server", "router", "redis", "sentinel", ... */
    readonly name: string,
    readonly host: Host,
    private readonly cmd: string,
    private readonly args: readonly string[],
    readonly logFile: string,
    /** True once the process answers (checked through a forward: a listening port alone proves little there). */
    private readonly ready: (self: NsProc) => Promise<boolean>,
  ) {}

  /** "msg_server@ms1": what fault tables print. */
  get label(): string {
    return `${this.name}@${this.host.name}`;
  }

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Start (again, after a kill) and wait until it answers. */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.running) return;
    const log = createWriteStream(this.logFile, { flags: "a" });
    const p = this.host.spawn(this.cmd, this.args, { stdio: ["ignore", "pipe", "pipe"] });
    p.stdout!.pipe(log);
    p.stderr!.pipe(log);
    this.proc = p;
    await waitFor(`${this.label} answering (log: ${this.logFile})`, async () => {
      if (!this.running) throw new Error(`${this.label} exited: ${this.log().slice(-2000)}`);
      return this.ready(this);
    }, timeoutMs, 100);
  }

  /** Signal it and wait for the exit. A frozen process gets SIGCONT too, or it would never see a SIGTERM. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    const exited = new Promise<void>((r) => p.once("exit", () => r()));
    p.kill(signal);
    if (signal !== "SIGKILL") p.kill("SIGCONT");
    await exited;
  }

  /** SIGSTOP / SIGCONT without waiting for anything. */
  signal(signal: "SIGSTOP" | "SIGCONT"): void {
    if (this.running) this.proc!.kill(signal);
  }

  log(): string {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }
}
