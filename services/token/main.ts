#!/usr/bin/env node
/**
 * `token`: mints one client token from a conf file's `clientAuth` keys, for development, scripts
 * and tests. A deployment with an identity provider mints elsewhere and ships only public keys.
 *
 *   token -conf_file=conf/msg_server.19000.json --sub alice --ttl 1h   # prints the token and a newline
 *   token --init-dev-key ./data                                        # creates the development key if absent
 */
import { Command } from "commander";
import { z } from "zod";
import { clientAuthSchema } from "../../shared/auth/config.js";
import { ensureDevKey } from "../../shared/auth/dev-key.js";
import { mintToken, parseTtl } from "../../shared/auth/mint.js";
import { normalizeGoFlags, VERSION } from "../../shared/cli.js";
import { loadConfig } from "../../shared/config/load-config.js";
import { ConfigError, ImError } from "../../shared/errors.js";
import { checkClientId } from "../../shared/validate.js";

/** Any service conf that has a clientAuth section; the rest of the file is not ours to judge. */
const confWithAuth = z.looseObject({ clientAuth: clientAuthSchema.optional() });

interface Opts {
  conf_file: string;
  sub?: string;
  ttl: string;
  kid?: string;
  initDevKey?: string;
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
    .allowExcessArguments(false);
  program.parse(normalizeGoFlags(process.argv), { from: "node" });
  const o = program.opts<Opts>();

  if (o.initDevKey !== undefined) {
    const key = ensureDevKey(o.initDevKey);
    process.stderr.write(`token: ${key.created ? "created" : "kept the existing"} development key ${key.path}\n`);
    process.stdout.write(`${key.path}\n`);
    return;
  }
  if (o.sub === undefined) fail("--sub <clientId> is required (or --init-dev-key <dir>); see token --help");
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
