/**
 * Turns the trace on when FISHCHAT_TRACE_FILE is set (see tracer.ts), for the services that call
 * it (msg_server, router, gateway). Returns null, having installed nothing, when it is not set.
 */
import type { Logger } from "../log/logger.js";
import { traceRuntime } from "./runtime-trace.js";
import { Tracer } from "./tracer.js";
import { setHopTracer } from "./hops.js";

export const TRACE_ENV = "FISHCHAT_TRACE_FILE";

/** `{service}` and `{pid}` in the configured path, replaced. */
export function traceFileName(template: string, service: string, pid = process.pid): string {
  return template.replaceAll("{service}", service).replaceAll("{pid}", String(pid));
}

export function startTraceFromEnv(service: string, log: Logger, env = process.env): { tracer: Tracer; stop(): void } | null {
  const template = env[TRACE_ENV];
  if (!template) return null;
  const tracer = new Tracer(traceFileName(template, service), service);
  const runtime = traceRuntime(tracer);
  setHopTracer(tracer);
  log.info({ file: tracer.file }, "runtime trace on (GC pauses, event-loop lag, store commits, sampled message hops)");
  return {
    tracer,
    stop() {
      setHopTracer(null);
      runtime.stop();
      tracer.close();
    },
  };
}
