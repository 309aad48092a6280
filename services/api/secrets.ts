import { readFileSync } from "node:fs";
import { ConfigError } from "../../shared/errors.js";
import { sameSecret } from "../../shared/secret.js";
import { MIN_API_SECRET_BYTES, type SecretSource } from "./config.js";

/** The secret a conf entry names (inline, file or environment variable); ConfigError when unusable. Never logged. */
export function readSecret(src: SecretSource, what: string, env: NodeJS.ProcessEnv = process.env): string {
  let v: string;
  if (src.value !== undefined) v = src.value;
  else if (src.file !== undefined) {
    try {
      v = readFileSync(src.file, "utf8").replace(/\r?\n$/, "");
    } catch (err) {
      throw new ConfigError(`${what}: cannot read ${src.file} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    }
  } else {
    const name = src.env!;
    v = env[name] ?? "";
    if (v === "") throw new ConfigError(`${what}: environment variable ${name} is not set`);
  }
  if (Buffer.byteLength(v) < MIN_API_SECRET_BYTES) throw new ConfigError(`${what}: must have at least ${MIN_API_SECRET_BYTES} bytes (openssl rand -base64 32)`);
  return v;
}

export interface KeyHolder {
  name: string;
  /** Its own request rate, if the conf gives one. */
  requestsPerSec?: number;
}

/** The API keys by holder; `match` compares against every key in constant time per key. */
export class ApiKeys {
  constructor(private readonly keys: readonly { holder: KeyHolder; key: string }[]) {}

  static load(entries: readonly (SecretSource & KeyHolder)[], env: NodeJS.ProcessEnv = process.env): ApiKeys {
    return new ApiKeys(
      entries.map((e) => ({ holder: e.requestsPerSec === undefined ? { name: e.name } : { name: e.name, requestsPerSec: e.requestsPerSec }, key: readSecret(e, `keys "${e.name}"`, env) })),
    );
  }

  /** The holder of `presented`, or null. Every key is compared (no early exit), so timing says nothing about which matched. */
  match(presented: string): KeyHolder | null {
    let found: KeyHolder | null = null;
    for (const k of this.keys) if (sameSecret(presented, k.key) && found === null) found = k.holder;
    return found;
  }
}
