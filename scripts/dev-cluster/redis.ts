/**
 * The development cluster's own redis-server: its own port (16379 by default, not the system
 * Redis on 6379), its own data directory with AOF, a password generated once per data
 * directory, bound to 127.0.0.1. Nothing the cluster writes can land beside another program's
 * keys, and other users of the machine cannot read or write it.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isAlive, livePidFrom } from "./preflight.js";

export const DEFAULT_PRIVATE_REDIS_PORT = 16379;

export interface PrivateRedis {
  host: string;
  port: number;
  password: string;
  dir: string;
  /** redis.conf, mode 0600 (it holds the password; a command-line flag would show in `ps`). */
  confFile: string;
  pidFile: string;
}

export function preparePrivateRedis(dataDir: string, port: number): PrivateRedis {
  const dir = join(dataDir, "redis");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pwFile = join(dir, "password");
  if (!existsSync(pwFile)) writeFileSync(pwFile, `${randomBytes(24).toString("base64url")}\n`, { mode: 0o600 });
  const password = readFileSync(pwFile, "utf8").trim();
  const r: PrivateRedis = { host: "127.0.0.1", port, password, dir, confFile: join(dir, "redis.conf"), pidFile: join(dir, "redis.pid") };
  const conf = [
    "# Written by scripts/dev-cluster.ts at every start; edits are overwritten.",
    `port ${port}`,
    "bind 127.0.0.1",
    "protected-mode yes",
    `dir ${dir}`,
    `pidfile ${r.pidFile}`,
    'logfile ""',
    "daemonize no",
    "appendonly yes",
    "appendfsync everysec",
    'save ""',
    `requirepass ${password}`,
    "",
  ].join("\n");
  writeFileSync(r.confFile, conf, { mode: 0o600 });
  chmodSync(r.confFile, 0o600);
  return r;
}

/**
 * A redis-server left running by a cluster that was SIGKILLed (it cannot notice its parent die)
 * still holds the port and the AOF: stop it. Resolves with its pid, or null when there was none.
 */
export async function stopLeftoverRedis(r: PrivateRedis): Promise<number | null> {
  const pid = livePidFrom(r.pidFile, "redis-server");
  if (pid === null) return null;
  process.kill(pid, "SIGTERM");
  const end = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < end) await new Promise((res) => setTimeout(res, 50));
  if (isAlive(pid)) process.kill(pid, "SIGKILL");
  return pid;
}
