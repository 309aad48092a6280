import { readFileSync } from "node:fs";
import type { z } from "zod";
import { ConfigError } from "../errors.js";

/**
 * v1 configuration keys and what replaced them, so a FishChatServer conf file fails with a hint
 * instead of a bare "unknown key". Keys here are matched case-insensitively, as Go's decoder did.
 * `use` is the key that replaced it; the hint names it only when the schema being loaded has that
 * key (the gateway has no advertiseAddr: telling its users to set one would only fail again).
 */
const V1_HINTS: Record<string, { use?: string; say: string }> = {
  localip: { use: "advertiseAddr", say: 'advertiseAddr ("host:port" clients can reach)' },
  transportprotocols: { say: "nothing (TCP is implied)" },
  listen: { use: "listen", say: 'listen (lower case, "host:port")' },
  msgserverlist: { use: "msgServerList", say: "msgServerList" },
  msgservernum: { say: "nothing (all live msg_servers are used)" },
  scandeadsessiontimeout: { use: "idleTimeoutMs", say: "idleTimeoutMs" },
  expire: { say: "nothing (v1's Expire had no effect)" },
  monitorbeattime: { use: "monitorBeatMs", say: "monitorBeatMs" },
  sessionmanagerserverlist: { say: "nothing (unused in v1 too)" },
  redis: { use: "redis", say: 'redis { "host", "port", "db", "password", "keyPrefix" }' },
  mongo: { use: "store", say: 'store { "mongoUri", "mongoDb" }' },
  uuid: { use: "id", say: "id" },
  logfile: { say: "nothing (logs go to stdout as JSON)" },
  gatewayserver: { use: "gatewayServer", say: "gatewayServer" },
  heartbeattime: { use: "heartbeatMs", say: "heartbeatMs" },
};

function hintFor(key: string, siblings: ReadonlySet<string> | null): string {
  const h = V1_HINTS[key.toLowerCase()];
  if (!h || key === key.toLowerCase()) return "";
  if (h.use === undefined || siblings?.has(h.use)) return ` (FishChatServer v1 key; use ${h.say})`;
  return " (FishChatServer v1 key; this file has no such setting: remove it)";
}

interface ZodDefLike {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
}

/** The object definition under defaults, optionals and pipes, or null. */
function objectDef(schema: unknown): ZodDefLike | null {
  let s = schema;
  for (let depth = 0; depth < 8; depth++) {
    const def = (s as { _zod?: { def?: ZodDefLike } } | undefined)?._zod?.def;
    if (!def) return null;
    if (def.type === "object" && def.shape) return def;
    s = def.innerType ?? def.in;
    if (s === undefined) return null;
  }
  return null;
}

/** The keys the schema accepts at path, or null when that cannot be told. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): Set<string> | null {
  let def = objectDef(schema);
  for (const k of path) def = def?.shape ? objectDef(def.shape[String(k)]) : null;
  return def?.shape ? new Set(Object.keys(def.shape)) : null;
}

function describePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(top level)" : path.map(String).join(".");
}

/**
 * Read, parse and validate a JSON config file. Throws ConfigError naming the file and every
 * offending key, one problem per line; main.ts turns it into exit code 2. The result is deeply
 * frozen.
 */
export function loadConfig<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: cannot read config file (${code ?? String(err)})`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(file, raw, schema);
}

export function parseConfig<S extends z.ZodType>(file: string, raw: unknown, schema: S): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) {
    // Unknown keys first: they explain more than a missing one (a v1 file lacks our keys because it has its own).
    const issues = result.error.issues;
    const lines: string[] = [];
    for (const issue of issues) {
      if (issue.code !== "unrecognized_keys") continue;
      const siblings = keysAt(schema, issue.path);
      for (const key of issue.keys) lines.push(`${file}: unknown key "${describePath([...issue.path, key])}"${hintFor(key, siblings)}`);
    }
    for (const issue of issues) {
      if (issue.code === "unrecognized_keys") continue;
      const missing = issue.code === "invalid_type" && / received undefined$/.test(issue.message);
      lines.push(`${file}: key "${describePath(issue.path)}": ${missing ? `missing (required; expected ${issue.expected})` : issue.message}`);
    }
    throw new ConfigError([...new Set(lines)].join("\n"));
  }
  return deepFreeze(result.data);
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object") {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}
