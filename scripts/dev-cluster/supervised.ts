/**
 * One process of the development cluster, kept running as a process supervisor would: restarted
 * after an unexpected exit with a growing delay, and given up on (with the reason in one line)
 * when a restart cannot help: a bad config (exit code 2) or an address already in use.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";

export interface SupervisedSpec {
  /** Shown in status lines: "gateway 127.0.0.1:17000", "redis-server 127.0.0.1:16379". */
  label: string;
  command: string;
  args: readonly string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Append stdout and stderr here; null: copy them to this terminal. */
  logFile: string | null;
  /** Status lines for the person at the terminal. */
  say(line: string): void;
  /** Called instead of a restart when restarting cannot help. */
  onGiveUp(reason: string): void;
}

const RESTART_MIN_MS = 1000;
const RESTART_MAX_MS = 30_000;
/** A process that stayed up this long is healthy again: the next crash restarts it after RESTART_MIN_MS. */
const HEALTHY_AFTER_MS = 30_000;
/** The last lines of output are kept to say why a process exited (bounded: lines and characters). */
const TAIL_LINES = 20;
const TAIL_LINE_CHARS = 8192;

/** Exit code of every FishChat binary for a bad config or bad flags: restarting cannot fix it. */
const EXIT_USAGE = 2;
/** Node's error code, and redis-server's "bind: Address already in use". */
const ADDRESS_IN_USE = /EADDRINUSE|address already in use/i;

export class Supervised {
  proc: ChildProcess | null = null;
  /** Set by stop(): exits are expected from now on. */
  private stopping = false;
  private restartDelayMs = RESTART_MIN_MS;
  private restartTimer: NodeJS.Timeout | null = null;
  private startedAt = 0;
  private tail: string[] = [];
  private partial = "";
  private log: WriteStream | null = null;

  constructor(readonly spec: SupervisedSpec) {}

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  start(): void {
    const s = this.spec;
    // Own process group: a Ctrl-C in the terminal reaches the supervisor only, which then stops
    // the services before their Redis, instead of everything dying at once.
    const p = spawn(s.command, [...s.args], { cwd: s.cwd, env: s.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.startedAt = Date.now();
    this.tail = [];
    this.partial = "";
    if (s.logFile !== null) this.log ??= createWriteStream(s.logFile, { flags: "a" });
    for (const stream of [p.stdout!, p.stderr!]) {
      stream.on("data", (b: Buffer) => {
        if (this.log) this.log.write(b);
        else (stream === p.stdout ? process.stdout : process.stderr).write(b);
        this.keepTail(b.toString("utf8"));
      });
    }
    p.on("error", (err: NodeJS.ErrnoException) => {
      // spawn failed (ENOENT: not installed); "exit" may not follow.
      this.proc = null;
      if (!this.stopping) s.onGiveUp(`cannot run ${s.command}: ${err.code ?? err.message}`);
    });
    p.on("exit", (code, signal) => {
      if (this.stopping) return;
      // Killed by a signal: its last words are about something else.
      const reason = signal === null ? this.reason() : "";
      const what = signal ?? `code ${code}`;
      if (code === EXIT_USAGE || ADDRESS_IN_USE.test(reason)) {
        s.onGiveUp(`${s.label} exited (${what}): ${reason || "no output"}; not restarting`);
        return;
      }
      if (Date.now() - this.startedAt >= HEALTHY_AFTER_MS) this.restartDelayMs = RESTART_MIN_MS;
      const delay = this.restartDelayMs;
      this.restartDelayMs = Math.min(delay * 2, RESTART_MAX_MS);
      s.say(`${s.label} exited (${what}${reason ? `: ${reason}` : ""}); restarting in ${delay / 1000} s`);
      this.restartTimer = setTimeout(() => {
        this.restartTimer = null;
        if (!this.stopping) this.start();
      }, delay);
    });
    this.proc = p;
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once the process is gone. */
  stop(graceMs = 8000): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const p = this.proc;
    const done = () => {
      this.log?.end();
      this.log = null;
    };
    if (!p || !this.running) {
      done();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const force = setTimeout(() => p.kill("SIGKILL"), graceMs);
      p.once("exit", () => {
        clearTimeout(force);
        done();
        resolve();
      });
      p.kill("SIGTERM");
    });
  }

  /** Why the process stopped, from its last output lines: the last pino error, or the last plain line. */
  reason(): string {
    const lines = this.partial ? [...this.tail, this.partial] : this.tail;
    for (let i = lines.length - 1; i >= 0; i--) {
      const line = lines[i]!;
      if (!line.startsWith("{")) continue;
      try {
        const rec = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string; code?: string } };
        if ((rec.level ?? 0) < 50) continue;
        const err = rec.err?.message ?? rec.err?.code;
        return [rec.msg, err].filter(Boolean).join(": ");
      } catch {
        // A line cut short by TAIL_LINE_CHARS: not JSON any more.
      }
    }
    return lines.filter((l) => l.trim() !== "" && !l.startsWith("{")).at(-1)?.trim() ?? "";
  }

  private keepTail(text: string): void {
    const parts = (this.partial + text).split("\n");
    this.partial = (parts.pop() ?? "").slice(0, TAIL_LINE_CHARS);
    for (const l of parts) {
      this.tail.push(l.slice(0, TAIL_LINE_CHARS));
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
  }
}
