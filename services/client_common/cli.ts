import { readFileSync } from "node:fs";
import { Command as Commander, CommanderError, InvalidArgumentError, Option } from "commander";
import { clientAuthSchema } from "../../shared/auth/config.js";
import { mintToken } from "../../shared/auth/mint.js";
import { parseConfig } from "../../shared/config/load-config.js";
import { normalizeGoFlags, reportConfigError, VERSION } from "../../shared/cli.js";
import { ConfigError, type ImError } from "../../shared/errors.js";
import { hostPort } from "../../shared/config/common.js";
import { checkClientId } from "../../shared/validate.js";
import { DEFAULT_CLIENT_CONF, loadClientConfig, type ClientConfig } from "./config.js";

/** Exit codes of both clients (docs/CLIENTS.md). */
export const ExitCode = {
  OK: 0,
  /** A command failed, the first login failed, or --expect timed out. */
  FAILED: 1,
  /** Bad flags or bad client.json. */
  USAGE: 2,
  /** The same id logged in elsewhere: this session was taken over. */
  KICKED: 3,
} as const;

export interface CommonFlags {
  conf_file: string;
  gateway?: string;
  server?: string;
  id?: string;
  waitMs?: number;
  expect?: number;
  codec?: "line" | "packet";
  verbose?: boolean;
  token?: string;
  devToken?: string | boolean;
}

function nonNegativeInt(v: string): number {
  if (!/^\d{1,9}$/.test(v)) throw new InvalidArgumentError("expected a non-negative integer");
  return Number(v);
}

function address(v: string): string {
  if (!hostPort.safeParse(v).success) throw new InvalidArgumentError('expected "host:port"');
  return v;
}

function clientId(v: string): string {
  try {
    return checkClientId(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The options both clients take; each client adds its own actions and help text. */
export function baseProgram(name: string, description: string): Commander {
  const p = new Commander(name)
    .description(description)
    .version(VERSION, "--version", "print the version and exit")
    .helpOption("-h, --help", "show this help and exit")
    .option("--conf_file <path>", "client configuration file (v1: -conf_file=client.json)", DEFAULT_CLIENT_CONF)
    .option("--gateway <host:port>", "gateway to ask for a msg_server (overrides gatewayServer)", address)
    .option("--server <host:port>", "log in on this msg_server directly, skipping the gateway (debugging)", address)
    .option("--id <id>", "my client id (otherwise asked: `input my id :`)", clientId)
    .option("--wait-ms <ms>", "after the input is done, keep receiving this long (with --expect: the time limit)", nonNegativeInt)
    .option("--expect <n>", "after the input is done, wait until n messages were shown (exit 1 after --wait-ms, default 10000)", nonNegativeInt)
    .addOption(new Option("--codec <codec>", "wire codec; packet acts as a FishChatServer v1 client").choices(["line", "packet"]))
    .option("--verbose", "also print message uuids, seqs and acknowledgement errors")
    .option("--token <jwt>", "the signed token to log in with (or set FISHCHAT_TOKEN)")
    .option("--dev-token [msg_server-conf]", `development only: mint my own token from a msg_server conf's clientAuth key (default ${DEV_TOKEN_CONF})`)
    .allowExcessArguments(false);
  // FishChatServer's glog flags: accepted for compatibility, without effect.
  for (const f of ["--logtostderr [bool]", "--alsologtostderr [bool]", "--log_dir <dir>", "--stderrthreshold <level>", "--vmodule <spec>", "--log_backtrace_at <loc>"]) {
    p.addOption(new Option(f).hideHelp());
  }
  return p;
}

/**
 * Parse argv (Go-style single-dash flags allowed) and load client.json. Bad flags or config:
 * the message on stderr and exit code 2; --help and --version exit 0.
 */
export function parseCommon<F extends CommonFlags>(program: Commander, argv: readonly string[]): { flags: F; cfg: ClientConfig } {
  program.exitOverride();
  try {
    program.parse(normalizeGoFlags(argv), { from: "node" });
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE);
    throw err;
  }
  const flags = program.opts<F>();
  const explicit = program.getOptionValueSource("conf_file") !== "default";
  let cfg: ClientConfig;
  try {
    cfg = loadClientConfig(flags.conf_file, explicit);
  } catch (err) {
    if (err instanceof ConfigError) {
      reportConfigError(program.name(), err);
      process.exit(ExitCode.USAGE);
    }
    throw err;
  }
  return { flags, cfg: { ...cfg, gatewayServer: flags.gateway ?? cfg.gatewayServer, codec: flags.codec ?? cfg.codec } };
}

/** The msg_server conf whose development key --dev-token signs with, by default. */
export const DEV_TOKEN_CONF = "conf/msg_server.19000.json";

/**
 * Where a client's login token comes from: --token or FISHCHAT_TOKEN (fixed), or --dev-token
 * (minted from a msg_server conf's clientAuth keys, fresh at every login and refresh). None: no
 * token is sent (a cluster in clientAuth mode "none").
 */
export function tokenSource(flags: CommonFlags, id: () => string): (() => Promise<string | undefined>) | undefined {
  const fixed = flags.token ?? process.env.FISHCHAT_TOKEN;
  if (fixed) return async () => fixed;
  if (flags.devToken === undefined || flags.devToken === false) return undefined;
  const conf = typeof flags.devToken === "string" ? flags.devToken : DEV_TOKEN_CONF;
  return async () => {
    const raw = JSON.parse(readFileSync(conf, "utf8")) as { clientAuth?: unknown };
    const auth = parseConfig(conf, raw.clientAuth ?? {}, clientAuthSchema);
    return mintToken(auth, { sub: id(), ttlSec: 3600 });
  };
}

/** An id typed at `input my id :` must be valid too. */
export function validId(id: string): string | ImError {
  try {
    return checkClientId(id);
  } catch (err) {
    return err as ImError;
  }
}
