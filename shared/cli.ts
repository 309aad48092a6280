import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command as Commander, CommanderError } from "commander";
import type { z } from "zod";
import { ConfigError } from "./errors.js";
import { loadConfig } from "./config/load-config.js";
import { commonKeys } from "./config/common.js";
import { createLogger, type Logger } from "./log/logger.js";

// package.json sits two levels above dist/shared/cli.js.
const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8")) as { version: string };
export const VERSION = pkg.version;

/**
 * FishChatServer users launch binaries Go-flag style: `-conf_file=x.json` or `-conf_file x.json`.
 * Rewrite single-dash long flags to the double-dash form commander understands.
 */
export function normalizeGoFlags(argv: readonly string[]): string[] {
  return argv.map((a) => (/^-[a-zA-Z][\w-]+(=.*)?$/.test(a) ? `-${a}` : a));
}

export interface ServiceHandle {
  /** Stop accepting work, close links and listeners. Must resolve; errors are logged by the caller. */
  close(): Promise<void>;
  /** SIGHUP: re-read what can change without a restart (key files). Without it SIGHUP is ignored, never fatal. */
  reload?(): Promise<void>;
  /** How long close() may take before the process exits anyway (a drain window). Default 5 s. */
  stopTimeoutMs?: number;
}

export interface ServiceSpec<S extends z.ZodType> {
  name: string;
  description: string;
  defaultConf: string;
  schema: S;
  start(cfg: z.output<S>, log: Logger): Promise<ServiceHandle>;
  /** Extra instance label for logs, derived from the config (e.g. the msg_server's address). */
  instanceOf?(cfg: z.output<S>): string;
}

/** Exit code of every FishChat binary for bad flags or a bad config: a restart cannot help. */
export const EXIT_USAGE = 2;

/** Print a ConfigError, one line per problem, each naming the binary and the code. */
export function reportConfigError(name: string, err: ConfigError): void {
  for (const line of err.message.split("\n")) process.stderr.write(`${name}: ${err.code} ${line}\n`);
}

/**
 * The log level: FISHCHAT_LOG_LEVEL when set (so `FISHCHAT_LOG_LEVEL=debug npm start` needs no
 * edit of any conf file), else the conf file's `logLevel`, else "info". Throws ConfigError for
 * a level pino does not know.
 */
export function logLevelOf(fileLevel: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const v = env.FISHCHAT_LOG_LEVEL;
  if (v === undefined || v === "") return fileLevel ?? "info";
  const parsed = commonKeys.logLevel.safeParse(v);
  if (!parsed.success) throw new ConfigError(`FISHCHAT_LOG_LEVEL: "${v}" is not a log level (${commonKeys.logLevel.unwrap().options.join(", ")})`);
  return parsed.data;
}

/**
 * Under a supervisor that asks for it (FISHCHAT_EXIT_WITH_PARENT=1, set by `npm start`), stop
 * when the parent process is gone: a SIGKILLed supervisor sends no signal, and an orphaned
 * service would keep its ports and keep answering as if the cluster were still there.
 */
function watchParent(onGone: () => (why: string) => void): void {
  if (process.env.FISHCHAT_EXIT_WITH_PARENT !== "1") return;
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) onGone()(`parent ${parent} exited`);
  }, 500).unref();
}

/** How long a signal received during start-up waits for the start to finish before exiting anyway. */
const START_SIGNAL_GRACE_MS = 10_000;

/** The whole life of a service process: flags, config (exit 2 when invalid), logger, signals. */
export async function runService<S extends z.ZodType>(spec: ServiceSpec<S>, argv: readonly string[]): Promise<void> {
  const program = new Commander(spec.name)
    .description(spec.description)
    .usage(`-conf_file=<path>   (also -conf_file <path>, --conf_file <path>)`)
    .version(VERSION, "-v, --version")
    .option("--conf_file <path>", `configuration file, FishChatServer style: -conf_file=${spec.defaultConf}`, spec.defaultConf)
    .allowExcessArguments(false)
    .addHelpText("after", `\nExample:\n  ${spec.name} -conf_file=${spec.defaultConf}\n\nEnvironment: FISHCHAT_LOG_LEVEL overrides the conf file's logLevel.\nExit codes: 0 stopped by a signal, 1 start-up failed, 2 bad flags or bad config.`)
    .exitOverride();
  try {
    program.parse(normalizeGoFlags(argv), { from: "node" });
  } catch (err) {
    // --help and --version exit 0; an unknown flag exits 2, like a bad config (and like the clients).
    if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    throw err;
  }
  const confFile = program.opts<{ conf_file: string }>().conf_file;
  // Until the service is up there is nothing to close: leave at once.
  let onParentGone: (why: string) => void = () => process.exit(0);
  watchParent(() => onParentGone);

  let cfg: z.output<S>;
  let level: string;
  try {
    cfg = loadConfig(confFile, spec.schema);
    level = logLevelOf((cfg as { logLevel?: string }).logLevel);
  } catch (err) {
    if (err instanceof ConfigError) {
      reportConfigError(spec.name, err);
      process.exit(EXIT_USAGE);
    }
    throw err;
  }
  const log = createLogger({ service: spec.name, instance: spec.instanceOf?.(cfg), level });

  process.on("uncaughtException", (err) => {
    log.fatal({ err }, "uncaught exception; exiting");
    log.flush?.();
    setTimeout(() => process.exit(1), 50).unref();
  });
  process.on("unhandledRejection", (err) => {
    // A bug, not a reason to drop every client of this process: log loudly and carry on.
    log.error({ err }, "unhandled promise rejection");
  });

  // A signal during start-up (its ports may already answer) would otherwise kill the process
  // outright, with its log lines unwritten and nothing closed: hold it until the service is up,
  // then stop as for any signal. A start-up that hangs (no Redis) still ends: a second signal,
  // or START_SIGNAL_GRACE_MS after the first, exits at once.
  let early: string | null = null;
  const hold = (signal: string) => () => {
    if (early) process.exit(0);
    early = signal;
    log.info({ signal }, "signal during start-up: stopping once started");
    setTimeout(() => process.exit(0), START_SIGNAL_GRACE_MS).unref();
  };
  const holds = { SIGINT: hold("SIGINT"), SIGTERM: hold("SIGTERM") };
  process.on("SIGINT", holds.SIGINT);
  process.on("SIGTERM", holds.SIGTERM);
  let handle: ServiceHandle;
  try {
    handle = await spec.start(cfg, log);
  } catch (err) {
    log.fatal({ err }, "start-up failed");
    log.flush?.();
    // A bad key file or an exposed listener with a development secret: a restart cannot help.
    if (err instanceof ConfigError) reportConfigError(spec.name, err);
    const code = err instanceof ConfigError ? EXIT_USAGE : 1;
    // The code also when nothing else holds the event loop open and the process ends before the timer.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 50).unref();
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    const force = setTimeout(() => process.exit(0), (handle.stopTimeoutMs ?? 5000) + 2000);
    force.unref();
    handle
      .close()
      .catch((err: unknown) => log.error({ err }, "error while stopping"))
      .finally(() => {
        log.info("stopped");
        log.flush?.();
        setTimeout(() => process.exit(0), 20).unref();
      });
  };
  process.off("SIGINT", holds.SIGINT);
  process.off("SIGTERM", holds.SIGTERM);
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  if (early) stop(early);
  // Node's default for SIGHUP is to exit, which systemd's `reload` would turn into an outage.
  process.on("SIGHUP", () => {
    if (!handle.reload) {
      log.info("SIGHUP: nothing to reload");
      return;
    }
    log.info("SIGHUP: reloading");
    handle.reload().catch((err: unknown) => log.error({ err }, "reload failed"));
  });
  onParentGone = stop;
}
