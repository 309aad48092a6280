/**
 * The services of the development cluster, read from the conf directory, and the conf files
 * they actually run with: the originals, or (with the private Redis) copies under
 * <data>/conf/ whose `redis` block points at it.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { DEV_API_KEY_FILE, DEV_KEY_FILE } from "../../shared/auth/dev-key.js";
import { existsSync } from "node:fs";
import type { Listener } from "./preflight.js";

export interface ServiceDef {
  name: string;
  /** The conf file as given in the conf directory. */
  sourceConf: string;
  /** The conf file the process is started with. */
  conf: string;
  listen: string;
  note: string;
  /** Every address it will listen on (the monitor has an HTTP port too). */
  listeners: Listener[];
  raw: Record<string, unknown>;
}

export interface RedisTarget {
  host: string;
  port: number;
  password: string;
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

export function hostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { host: addr.slice(0, i).replace(/^\[(.*)\]$/, "$1"), port: Number(addr.slice(i + 1)) };
}

/** Where to probe a listener from this machine: a wildcard bind is reachable on loopback. */
export function probeHost(host: string): string {
  return host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host;
}

export function readServices(confDir: string): ServiceDef[] {
  const files = readdirSync(confDir);
  const msConfs = files.filter((f) => /^msg_server\..+\.json$/.test(f)).sort();
  const out: ServiceDef[] = [];
  const add = (name: string, file: string, note: (c: Record<string, unknown>) => string) => {
    const sourceConf = join(confDir, file);
    const raw = readJson(sourceConf);
    const listen = String(raw.listen);
    const listeners: Listener[] = [{ owner: name, ...hostPort(listen) }];
    if (name === "monitor") {
      const http = (raw.http ?? {}) as { host?: string; port?: number };
      listeners.push({ owner: "monitor http", host: http.host ?? "127.0.0.1", port: http.port ?? 30000 });
    }
    out.push({ name, sourceConf, conf: sourceConf, listen, note: note(raw), listeners, raw });
  };
  for (const f of msConfs) add("msg_server", f, (c) => `clients connect here; advertised as ${String(c.advertiseAddr ?? c.listen)}`);
  add("gateway", "gateway.json", (c) => {
    const http = c.http as { listen?: string; chatPage?: boolean } | undefined;
    return http?.listen && http.chatPage !== false ? `clients start here (REQ_MSG_SERVER); chat page http://${http.listen}/` : "clients start here (REQ_MSG_SERVER)";
  });
  add("router", "router.json", () => "STATS/PING only");
  add("manager", "manager.json", () => "STATS/PING only");
  // The server API is optional: a conf directory without api.json (an older copy, conf/v1-compat) runs without it.
  if (existsSync(join(confDir, "api.json"))) add("api", "api.json", (c) => `server API for your backend http://${String(c.listen)}/v1 (key in data/${DEV_API_KEY_FILE}; docs/SERVER-API.md)`);
  add("monitor", "monitor.json", (c) => {
    const http = (c.http ?? {}) as { host?: string; port?: number };
    return `dashboard http://${http.host ?? "127.0.0.1"}:${http.port ?? 30000}/`;
  });
  return out;
}

/**
 * A key that names the development key file (clientAuth's, the gateway's devLogin): it is pointed
 * at this data dir's key; the server API's keys naming dev-api.key at this data dir's API key.
 */
function withDevKey(raw: Record<string, unknown>, devKeyPath: string): Record<string, unknown> {
  const point = <K extends { secretFile?: string }>(k: K): K => (k.secretFile && basename(k.secretFile) === DEV_KEY_FILE ? { ...k, secretFile: devKeyPath } : k);
  let out = raw;
  const auth = raw.clientAuth as { keys?: { secretFile?: string }[] } | undefined;
  if (auth?.keys) out = { ...out, clientAuth: { ...auth, keys: auth.keys.map(point) } };
  const http = raw.http as { devLogin?: { key?: { secretFile?: string } } } | undefined;
  if (http?.devLogin?.key) out = { ...out, http: { ...http, devLogin: { ...http.devLogin, key: point(http.devLogin.key) } } };
  const apiKeys = raw.keys as { file?: string }[] | undefined;
  if (Array.isArray(apiKeys)) {
    const apiKeyPath = join(dirname(devKeyPath), DEV_API_KEY_FILE);
    out = { ...out, keys: apiKeys.map((k) => (k.file && basename(k.file) === DEV_API_KEY_FILE ? { ...k, file: apiKeyPath } : k)) };
  }
  return out;
}

/**
 * The conf files the services run with, <dataDir>/conf/<file>: with the private Redis, the
 * `redis` block replaced (db 0 of a server nobody else uses; the key prefix is kept); in every
 * case the development token key pointed at this data dir's. Mode 0600: they hold the Redis
 * password and the cluster secret.
 */
export function writeOverrides(services: ServiceDef[], dataDir: string, redis: RedisTarget | null, devKeyPath: string): string {
  const dir = join(dataDir, "conf");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const s of services) {
    const own = (s.raw.redis ?? {}) as Record<string, unknown>;
    const base = withDevKey(s.raw, devKeyPath);
    const conf = redis ? { ...base, redis: { ...own, host: redis.host, port: redis.port, db: 0, password: redis.password } } : base;
    const file = join(dir, s.sourceConf.slice(s.sourceConf.lastIndexOf("/") + 1));
    writeFileSync(file, `${JSON.stringify(conf, null, 2)}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    s.conf = file;
  }
  return dir;
}

/** The Redis the conf files name (the first msg_server's, as the services would use). */
export function configuredRedis(services: ServiceDef[]): { host: string; port: number; db: number; keyPrefix: string } {
  const r = (services[0]?.raw.redis ?? {}) as { host?: string; port?: number; db?: number; keyPrefix?: string };
  return { host: r.host ?? "127.0.0.1", port: r.port ?? 6379, db: r.db ?? 0, keyPrefix: r.keyPrefix ?? "fc:" };
}
