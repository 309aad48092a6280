#!/usr/bin/env node
/**
 * `token`: mints one client token from a conf file's `clientAuth` keys, for development, scripts
 * and tests. A deployment with an identity provider mints elsewhere and ships only public keys.
 *
 *   token -conf_file=conf/msg_server.19000.json --sub alice --ttl 1h   # prints the token and a newline
 *   token --init-dev-key ./data                                        # creates the development key if absent
 *   token -conf_file=conf/msg_server.19000.json --revoke-user alice    # cluster-wide, through the conf's Redis
 *   token -conf_file=conf/msg_server.19000.json --revoke-jti <jti>
 */
import { Command, CommanderError } from "commander";
import { openRedisBus } from "../../shared/bus/redis-bus.js";
import { redisSchema, type RedisConfig } from "../../shared/config/common.js";
import { createLogger } from "../../shared/log/logger.js";
import { z } from "zod";
import { clientAuthSchema } from "../../shared/auth/config.js";
import { ensureDevKey } from "../../shared/auth/dev-key.js";
import { mintToken, parseTtl } from "../../shared/auth/mint.js";
import { EXIT_USAGE, normalizeGoFlags, VERSION } from "../../shared/cli.js";
import { loadConfig } from "../../shared/config/load-config.js";
import { ConfigError, ImError } from "../../shared/errors.js";
import { checkClientId } from "../../shared/validate.js";

/** Any service conf that has a clientAuth section; the rest of the file is not ours to judge. */
const confWithAuth = z.looseObject({ clientAuth: clientAuthSchema.optional(), redis: redisSchema });

interface Opts {
  conf_file: string;
  sub?: string;
  ttl: string;
  kid?: string;
  initDevKey?: string;
  revokeUser?: string;
  revokeJti?: string;
  for: string;
}

/** Revoke through the conf's Redis: every msg_server of that cluster closes the sessions it names. */
async function revoke(conf: { redis: RedisConfig }, kind: "user" | "token", key: string, forSec: number): Promise<void> {
  const log = createLogger({ service: "token", level: "warn" });
  const bus = openRedisBus(conf.redis, log, { name: "token" });
  try {
    const now = Date.now();
    await bus.revocations.revoke({ kind, key, atMs: now, untilMs: now + forSec * 1000 });
    process.stderr.write(`token: revoked ${kind} ${key} until ${new Date(now + forSec * 1000).toISOString()}\n`);
  } finally {
    await bus.close();
  }
}

function fail(message: string, code = 2): never {
  process.stderr.write(`token: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  const program = new Command("token")
    .description("Mint a client token (JWT) signed with a key of the conf file's clientAuth section")
    .version(VERSION, "-v, --version")
    .option("--conf_file <path>", "configuration file with a clientAuth section", "conf/msg_server.19000.json")
    .option("--sub <clientId>", "client id the token is for")
    .option("--ttl <duration>", "lifetime: seconds, or a number with s, m, h or d", "1h")
    .option("--kid <kid>", "key to sign with (default: the first key that can sign)")
    .option("--init-dev-key <dir>", "create <dir>/dev-token.key (random HS256 key, mode 0600) if absent, print its path, and exit")
    .option("--revoke-user <clientId>", "revoke every token of this user issued until now, cluster-wide (the conf's Redis), and close its sessions")
    .option("--revoke-jti <jti>", "revoke one token by its id, cluster-wide, and close the session holding it")
    .option("--for <duration>", "with --revoke-*: how long the revocation is kept (the longest a token can live)", "30d")
    .allowExcessArguments(false)
    .exitOverride();
  try {
    program.parse(normalizeGoFlags(process.argv), { from: "node" });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    throw err;
  }
  const o = program.opts<Opts>();

  if (o.initDevKey !== undefined) {
    const key = ensureDevKey(o.initDevKey);
    process.stderr.write(`token: ${key.created ? "created" : "kept the existing"} development key ${key.path}\n`);
    process.stdout.write(`${key.path}\n`);
    return;
  }
  if (o.revokeUser !== undefined || o.revokeJti !== undefined) {
    const forSec = parseTtl(o.for);
    if (forSec === undefined) fail(`--for "${o.for}" is not a duration such as 3600, 90s, 15m, 1h or 30d`);
    const conf = loadConfig(o.conf_file, confWithAuth);
    if (o.revokeUser !== undefined) await revoke(conf, "user", checkClientId(o.revokeUser), forSec);
    if (o.revokeJti !== undefined) await revoke(conf, "token", o.revokeJti, forSec);
    return;
  }
  if (o.sub === undefined) fail("--sub <clientId> is required (or --init-dev-key <dir>, --revoke-user, --revoke-jti); see token --help");
  const ttlSec = parseTtl(o.ttl);
  if (ttlSec === undefined) fail(`--ttl "${o.ttl}" is not a duration such as 3600, 90s, 15m, 1h or 7d`);

  const conf = loadConfig(o.conf_file, confWithAuth);
  if (!conf.clientAuth) throw new ConfigError(`${o.conf_file}: no "clientAuth" section, so there is no key to sign with`);
  const token = await mintToken(conf.clientAuth, { sub: checkClientId(o.sub), ttlSec, kid: o.kid });
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  if (err instanceof ImError) fail(`${err.code} ${err.message}`);
  fail(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`, 1);
});
