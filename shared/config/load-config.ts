import { readFileSync } from "node:fs";
import type { z } from "zod";
import { ConfigError } from "../errors.js";

/**
 * v1 configuration keys and what replaced them, so a FishChatServer conf file fails with a hint
 * instead of a bare "unknown key". Keys here are matched case-insensitively, as Go's decoder did.
 */
const V1_HINTS: Record<string, string> = {
  localip: 'advertiseAddr ("host:port" clients can reach)',
  transportprotocols: "nothing (TCP is implied)",
  listen: 'listen (lower case, "host:port")',
  msgserverlist: "msgServerList",
  msgservernum: "nothing (all live msg_servers are used)",
  scandeadsessiontimeout: "idleTimeoutMs",
  expire: "nothing (v1's Expire had no effect)",
  monitorbeattime: "monitorBeatMs",
  sessionmanagerserverlist: "nothing (unused in v1 too)",
  redis: 'redis { "host", "port", "db", "password", "keyPrefix" }',
  mongo: 'store { "mongoUri", "mongoDb" }',
  uuid: "id",
  logfile: "nothing (logs go to stdout as JSON)",
  gatewayserver: "gatewayServer",
  heartbeattime: "heartbeatMs",
};

function hintFor(key: string): string {
  const h = V1_HINTS[key.toLowerCase()];
  return h && key !== key.toLowerCase() ? ` (FishChatServer v1 key; use ${h})` : "";
}

function describePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "(top level)" : path.map(String).join(".");
}

/**
 * Read, parse and validate a JSON config file. Throws ConfigError with one message naming the
 * file and the offending key; main.ts turns it into exit code 2. The result is deeply frozen.
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
    // An unknown key explains more than a missing one (a v1 file lacks our keys because it has its own).
    const issues = result.error.issues;
    const issue = issues.find((i) => i.code === "unrecognized_keys") ?? issues[0]!;
    if (issue.code === "unrecognized_keys") {
      const key = issue.keys[0] ?? "";
      const where = describePath([...issue.path, key]);
      throw new ConfigError(`${file}: unknown key "${where}"${hintFor(key)}`);
    }
    throw new ConfigError(`${file}: key "${describePath(issue.path)}": ${issue.message}`);
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
