import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command as Commander } from "commander";
import type { z } from "zod";
import { ConfigError } from "./errors.js";
import { loadConfig } from "./config/load-config.js";
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

/** The whole life of a service process: flags, config (exit 2 when invalid), logger, signals. */
export async function runService<S extends z.ZodType>(spec: ServiceSpec<S>, argv: readonly string[]): Promise<void> {
  const program = new Commander(spec.name)
    .description(spec.description)
    .version(VERSION, "-v, --version")
    .option("--conf_file <path>", "configuration file", spec.defaultConf)
    .allowExcessArguments(false);
  program.parse(normalizeGoFlags(argv), { from: "node" });
  const confFile = program.opts<{ conf_file: string }>().conf_file;

  let cfg: z.output<S>;
  try {
    cfg = loadConfig(confFile, spec.schema);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${spec.name}: ${err.code} ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const level = (cfg as { logLevel?: string }).logLevel;
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

  let handle: ServiceHandle;
  try {
    handle = await spec.start(cfg, log);
  } catch (err) {
    log.fatal({ err }, "start-up failed");
    log.flush?.();
    setTimeout(() => process.exit(1), 50).unref();
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    const force = setTimeout(() => process.exit(0), 5000);
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
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}
