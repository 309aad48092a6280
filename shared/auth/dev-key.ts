import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** File name of the development HS256 key under the data dir; the shipped conf points `secretFile` at it. */
export const DEV_KEY_FILE = "dev-token.key";
/** File name of the development server API key under the data dir; conf/api.json's `keys` point at it. */
export const DEV_API_KEY_FILE = "dev-api.key";
/** kid of the development key in the shipped conf. */
export const DEV_KEY_KID = "dev";

export interface DevKey {
  path: string;
  /** False when the file was already there (it is never overwritten: tokens minted with it stay valid). */
  created: boolean;
}

/**
 * Creates `<dataDir>/dev-token.key` (or another file name: the server API's dev-api.key) (48 random bytes, base64url: 64 characters, mode 0600) unless
 * it exists. A random key per checkout instead of one in the repository: a committed key would
 * let anyone mint tokens for any deployment that forgot to replace it.
 */
export function ensureDevKey(dataDir: string, file: string = DEV_KEY_FILE): DevKey {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, file);
  try {
    // "wx": create or fail, so two processes starting at once cannot write two different keys.
    writeFileSync(path, `${randomBytes(48).toString("base64url")}\n`, { mode: 0o600, flag: "wx" });
    chmodSync(path, 0o600); // the umask may have narrowed the mode further, never widened; make it exact
    return { path, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  if (!statSync(path).isFile() || readFileSync(path).length === 0) {
    throw new Error(`${path} exists but is not a key file; remove it and start again`);
  }
  return { path, created: false };
}
