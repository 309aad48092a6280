/**
 * Client token verification speed: `node dist/scripts/bench/token.bench.js [ms-per-case]`.
 * For each algorithm, verifications per second through jose one at a time (the latency of one
 * first login) and with 64 in flight (a login storm: WebCrypto runs the signature checks on
 * libuv's thread pool, so concurrent logins overlap), then a token already in the verified cache
 * (a client reconnecting with the token it had). Keys live in a temporary directory.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ClientAuthConfig, clientAuthSchema } from "../../shared/auth/config.js";
import { mintToken } from "../../shared/auth/mint.js";
import { TokenVerifier } from "../../shared/auth/token-verifier.js";

const budgetMs = Number(process.argv[2] ?? 1000);
const out = (s: string) => process.stdout.write(`${s}\n`);

async function rate(name: string, inFlight: number, op: () => Promise<unknown>): Promise<void> {
  const run = async (ms: number) => {
    const end = performance.now() + ms;
    let n = 0;
    const worker = async () => {
      while (performance.now() < end) {
        await op();
        n++;
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: inFlight }, worker));
    return n / ((performance.now() - start) / 1000);
  };
  await run(budgetMs * 0.2); // warm-up: JIT, key import caches
  const r = await run(budgetMs);
  out(`${name.padEnd(38)} ${Math.round(r).toLocaleString("en-US").padStart(10)} verifications/s`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "fc-token-bench-"));
  try {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const ed = generateKeyPairSync("ed25519");
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const write = (f: string, s: string | Buffer) => {
      writeFileSync(join(dir, f), s, { mode: 0o600 });
      return join(dir, f);
    };
    const cases: [string, ClientAuthConfig][] = [
      ["HS256", clientAuthSchema.parse({ keys: [{ kid: "h", alg: "HS256", secretFile: write("h.key", randomBytes(48).toString("base64url")) }] })],
      ["ES256", clientAuthSchema.parse({ keys: [{ kid: "e", alg: "ES256", privateKeyFile: write("e.pem", ec.privateKey.export({ type: "pkcs8", format: "pem" })) }] })],
      ["EdDSA", clientAuthSchema.parse({ keys: [{ kid: "d", alg: "EdDSA", privateKeyFile: write("d.pem", ed.privateKey.export({ type: "pkcs8", format: "pem" })) }] })],
      ["RS256", clientAuthSchema.parse({ keys: [{ kid: "r", alg: "RS256", privateKeyFile: write("r.pem", rsa.privateKey.export({ type: "pkcs8", format: "pem" })) }] })],
    ];
    out(`node ${process.version}, ${budgetMs} ms per case`);
    for (const [alg, cfg] of cases) {
      // Cache off: every call checks the signature with jose (a first login).
      const cold = await TokenVerifier.create({ ...cfg, verifiedCacheSize: 0 });
      const warm = await TokenVerifier.create(cfg);
      const token = await mintToken(cfg, { sub: "alice", ttlSec: 3600 });
      await cold.verify("alice", token); // must pass, or the figures mean nothing
      await rate(`${alg} jose, 1 in flight`, 1, () => cold.verify("alice", token));
      await rate(`${alg} jose, 64 in flight`, 64, () => cold.verify("alice", token));
      await rate(`${alg} cached (reconnect), 1 in flight`, 1, () => warm.verify("alice", token));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
