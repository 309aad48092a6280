/** Key files and loggers for the auth tests: real keys in a temporary directory, removed after the test. */
import { generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { TestContext } from "node:test";
import { type ClientAuthConfig, clientAuthSchema } from "../../../shared/auth/config.js";
import { createLogger, type Logger } from "../../../shared/log/logger.js";

export interface KeyDir {
  dir: string;
  /** Writes a file (mode 0600) and returns its path. */
  write(name: string, content: string | Buffer): string;
}

export function keyDir(t: TestContext): KeyDir {
  const dir = mkdtempSync(join(tmpdir(), "fc-auth-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(name, content) {
      const p = join(dir, name);
      writeFileSync(p, content, { mode: 0o600 });
      return p;
    },
  };
}

export const pem = {
  priv: (k: KeyObject) => k.export({ type: "pkcs8", format: "pem" }) as string,
  pub: (k: KeyObject) => k.export({ type: "spki", format: "pem" }) as string,
};

export function pairs() {
  return {
    ec: generateKeyPairSync("ec", { namedCurve: "P-256" }),
    ed: generateKeyPairSync("ed25519"),
    rsa: generateKeyPairSync("rsa", { modulusLength: 2048 }),
  };
}

export const secret = () => randomBytes(48).toString("base64url");

export function authConfig(raw: unknown): ClientAuthConfig {
  return clientAuthSchema.parse(raw);
}

/** A logger whose JSON lines land in `lines`, as pino's tests capture them. */
export function capturingLogger(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString("utf8").split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger({ service: "test", destination: sink, level: "debug" }), lines };
}
