import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort, waitFor } from "./ports.js";

export interface TestRedis {
  port: number;
  dir: string;
  client(): Redis;
  /** SIGKILL the server (data survives only what AOF wrote). */
  kill(): Promise<void>;
  /** Start it again on the same port and directory. */
  restart(): Promise<void>;
  /** Freeze (SIGSTOP) or resume (SIGCONT) the server. */
  signal(sig: "SIGSTOP" | "SIGCONT"): void;
  stop(): Promise<void>;
}

/**
 * A private redis-server on a free port, data in a temp directory, so tests never touch the
 * machine's Redis. AOF on (appendfsync everysec, as `npm start` runs it) unless `aof: false`.
 */
export async function startRedis(opts: { aof?: boolean } = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "fc-redis-"));
  let proc: ChildProcess | null = null;
  const clients: Redis[] = [];
  const launch = async () => {
    proc = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", opts.aof === false ? "no" : "yes", "--appendfsync", "everysec", "--loglevel", "warning"],
      { stdio: "ignore" },
    );
    await waitFor(`redis-server on ${port}`, async () => {
      const c = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on("error", () => undefined);
      try {
        await c.connect();
        return (await c.ping()) === "PONG";
      } finally {
        c.disconnect();
      }
    });
  };
  await launch();
  const exited = () =>
    new Promise<void>((resolve) => {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) resolve();
      else proc.once("exit", () => resolve());
    });
  return {
    port,
    dir,
    client() {
      const c = new Redis({ port, maxRetriesPerRequest: 1 });
      c.on("error", () => undefined);
      clients.push(c);
      return c;
    },
    async kill() {
      proc?.kill("SIGKILL");
      await exited();
    },
    restart: launch,
    signal(sig) {
      proc?.kill(sig);
    },
    async stop() {
      for (const c of clients) c.disconnect();
      proc?.kill("SIGTERM");
      // A server left frozen by a failed test would never see the SIGTERM.
      proc?.kill("SIGCONT");
      await exited();
    },
  };
}
