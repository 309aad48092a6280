import pino, { type Logger, type DestinationStream } from "pino";

export type { Logger };

export interface LoggerOptions {
  service: string;
  instance?: string;
  level?: string;
  /** Where to write; stdout by default. Tests pass a sink to capture lines. */
  destination?: DestinationStream;
}

/**
 * One root logger per process. Connections log through `log.child({ conn })`.
 * Secrets are redacted by path so a config dump or an AUTH trace never prints them.
 */
export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level ?? process.env.FISHCHAT_LOG_LEVEL ?? "info",
      base: { service: opts.service, instance: opts.instance, pid: process.pid },
      redact: {
        paths: ["*.password", "*.token", "*.clusterSecret", "clusterSecret", "*.secret"],
        censor: "[redacted]",
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** Protocol traces are logged at debug level, cut short like ioredis does, so a 1 MiB line never floods the log. */
export function truncate(s: string, max = 200): string {
  return s.length <= max ? s : `${s.slice(0, max)}... (${s.length} chars)`;
}
