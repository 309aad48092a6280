/**
 * Checks made before the development cluster starts anything, so that a second `npm start` (or
 * any other program on our ports) fails at once with one line instead of a restart loop whose
 * reason (EADDRINUSE) only shows up in the log files.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { createServer } from "node:net";

/** One address the cluster is about to listen on. */
export interface Listener {
  /** Who listens there, e.g. "gateway" or "monitor http". */
  owner: string;
  host: string;
  port: number;
}

/** Resolves null when host:port can be bound right now, else the error code (EADDRINUSE, EACCES, ...). */
function bindError(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(null)));
  });
}

/** The listeners that cannot be bound, each with the reason. */
export async function busyListeners(listeners: readonly Listener[]): Promise<{ l: Listener; code: string }[]> {
  const busy: { l: Listener; code: string }[] = [];
  for (const l of listeners) {
    const code = await bindError(l.host, l.port);
    if (code !== null) busy.push({ l, code });
  }
  return busy;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but someone else's process.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The command line of a live process (Linux /proc), or "" when unknown. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * A pid file that says "a cluster runs from this data directory". take() returns the pid of the
 * live cluster holding it, or null when it is now ours (a stale file, left by a SIGKILLed
 * cluster, is taken over).
 */
export class PidLock {
  private held = false;

  constructor(
    readonly file: string,
    /** Part of the holder's command line that proves the pid was not reused by another program. */
    private readonly marker: string,
  ) {}

  take(): number | null {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(this.file, "wx", 0o644);
        writeSync(fd, `${process.pid}\n`);
        closeSync(fd);
        this.held = true;
        return null;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const pid = readPid(this.file);
      if (pid !== null && pid !== process.pid && isAlive(pid) && commandLine(pid).includes(this.marker)) return pid;
      rmSync(this.file, { force: true });
    }
    throw new Error(`cannot take ${this.file}`);
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    if (readPid(this.file) === process.pid) rmSync(this.file, { force: true });
  }
}

/** The pid written in a pid file, if that process is alive and its command line contains marker. */
export function livePidFrom(file: string, marker: string): number | null {
  const pid = readPid(file);
  return pid !== null && isAlive(pid) && commandLine(pid).includes(marker) ? pid : null;
}
