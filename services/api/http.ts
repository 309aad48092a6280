import type { IncomingMessage } from "node:http";
import type Router from "@koa/router";
import Koa, { type Context, type Middleware, type Next } from "koa";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { z } from "zod";
import { ErrorCode, ImError, RateLimitedError, toImError } from "../../shared/errors.js";
import { addressKey } from "../../shared/limits/address.js";
import type { Logger } from "../../shared/log/logger.js";
import type { Counters } from "../../shared/stats-schema.js";
import type { ApiKeys } from "./secrets.js";

/** An error answer: `{"error": {"code", "message", "details"?}}` with the code's HTTP status. */
export class HttpError extends ImError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status?: number,
    readonly details?: { path: string; message: string }[],
  ) {
    super(code, message);
  }
}

/** HTTP status of an error code (docs/SERVER-API.md, "Errors"). */
export function statusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.IM_ERR_BAD_REQUEST:
    case ErrorCode.IM_ERR_BAD_ARGS:
    case ErrorCode.IM_ERR_BAD_CLIENT_ID:
    case ErrorCode.IM_ERR_BAD_TOPIC_NAME:
    case ErrorCode.IM_ERR_MSG_TOO_LARGE:
    case ErrorCode.IM_ERR_BAD_ATTACHMENT:
      return 400;
    case ErrorCode.IM_ERR_BAD_API_KEY:
      return 401;
    case ErrorCode.IM_ERR_FORBIDDEN:
      return 403;
    case ErrorCode.IM_ERR_NOT_FOUND:
    case ErrorCode.IM_ERR_NO_SUCH_TOPIC:
    case ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT:
      return 404;
    case ErrorCode.IM_ERR_TOPIC_EXISTS:
    case ErrorCode.IM_ERR_NOT_MEMBER:
    case ErrorCode.IM_ERR_INBOX_FULL:
    case ErrorCode.IM_ERR_TOO_MANY_TOPICS:
    case ErrorCode.IM_ERR_TOPIC_FULL:
      return 409;
    case ErrorCode.IM_ERR_RATE_LIMITED:
      return 429;
    case ErrorCode.IM_ERR_UNAVAILABLE:
    case ErrorCode.IM_ERR_NO_MSG_SERVER:
    case ErrorCode.IM_ERR_TIMEOUT:
    case ErrorCode.IM_ERR_SHUTTING_DOWN:
      return 503;
    default:
      return 500;
  }
}

/** Errors to JSON answers; unexpected ones are logged (with the stack) and answered IM_ERR_INTERNAL. */
function errors(log: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new HttpError(ErrorCode.IM_ERR_NOT_FOUND, `no ${ctx.method} ${ctx.path} in the server API (docs/SERVER-API.md)`);
      if (ctx.status === 405 && !ctx.body) throw new HttpError(ErrorCode.IM_ERR_NOT_FOUND, `${ctx.method} is not served on ${ctx.path}; allowed: ${ctx.response.get("Allow")}`, 405);
    } catch (e) {
      const err = toImError(e);
      const status = (err instanceof HttpError && err.status) || statusOf(err.code);
      if (status >= 500 && status !== 503) log.error({ err: e, path: ctx.path }, "server API request failed");
      if (err instanceof RateLimitedError) ctx.set("Retry-After", String(Math.max(1, Math.ceil(err.retryAfterMs / 1000))));
      ctx.status = status;
      ctx.body = { error: { code: err.code, message: err.message, ...(err instanceof HttpError && err.details ? { details: err.details } : {}) } };
    }
  };
}

function retryAfterMs(rejection: unknown): number {
  if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext));
  throw rejection;
}

export interface ApiHttpOptions {
  /** Counters of the api role (shared/stats-schema.ts), bumped per answer. */
  counters: Counters<"api">;
  keys: ApiKeys;
  requestsPerSec: number;
  failedAuthPerMinute: number;
  log: Logger;
}

/**
 * Bearer key check and rate limits. A source address that keeps presenting bad keys is refused
 * (429) before its key is even compared; an accepted key has its own request rate.
 */
function authenticate(o: ApiHttpOptions): Middleware {
  // One limiter per rate: keys with the same rate share it, each counted under its own name.
  const limiters = new Map<number, RateLimiterMemory>();
  const limiterFor = (rps: number) => {
    let l = limiters.get(rps);
    if (!l) limiters.set(rps, (l = new RateLimiterMemory({ points: rps, duration: 1 })));
    return l;
  };
  const failures = new RateLimiterMemory({ points: o.failedAuthPerMinute, duration: 60, blockDuration: 60 });
  return async (ctx, next) => {
    const addr = addressKey(ctx.req.socket.remoteAddress, 64);
    const blocked = await failures.get(addr);
    if (blocked && blocked.consumedPoints > o.failedAuthPerMinute) throw new RateLimitedError("too many requests with a bad API key from this address", blocked.msBeforeNext);
    const header = ctx.get("authorization");
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    const holder = m ? o.keys.match(m[1]!) : null;
    if (holder === null) {
      await failures.consume(addr).catch(() => undefined);
      ctx.set("WWW-Authenticate", 'Bearer realm="FishChat server API"');
      throw new HttpError(ErrorCode.IM_ERR_BAD_API_KEY, header === "" ? "missing Authorization: Bearer <API key>" : "unknown API key");
    }
    const rps = holder.requestsPerSec ?? o.requestsPerSec;
    await limiterFor(rps)
      .consume(holder.name)
      .catch((r: unknown) => {
        throw new RateLimitedError(`key ${holder.name} sends more than ${rps} requests per second`, retryAfterMs(r));
      });
    ctx.state.keyName = holder.name;
    await next();
  };
}

/** One line per request at debug level, with the key's holder name (never the key); the outcome counted. */
function accessLog(log: Logger, c: Counters<"api">): Middleware {
  return async (ctx, next) => {
    const t0 = Date.now();
    try {
      await next();
    } finally {
      c.requests++;
      if (ctx.status === 401) c.badKeys++;
      else if (ctx.status === 429) c.rateLimited++;
      else if (ctx.status >= 500) c.serverErrors++;
      else if (ctx.status >= 400) c.clientErrors++;
      log.debug({ method: ctx.method, path: ctx.path, status: ctx.status, key: ctx.state.keyName as string | undefined, ms: Date.now() - t0 }, "api request");
    }
  };
}

/** The app: `open` routers answer without a key, everything else needs one. */
export function createApp(o: ApiHttpOptions, routers: Router[], open: Router[]): Koa {
  const app = new Koa();
  app.use(accessLog(o.log, o.counters));
  app.use(errors(o.log));
  for (const r of open) app.use(r.routes());
  app.use(authenticate(o));
  for (const r of routers) app.use(r.routes()).use(r.allowedMethods());
  return app;
}

/** How far past maxBodyBytes a body is drained (and dropped) before the connection is cut. */
const DRAIN_FACTOR = 16;

/** The request body as JSON, read up to maxBytes (413 beyond, nothing more is read). */
export async function readJson(req: IncomingMessage, maxBytes: number, type: string): Promise<unknown> {
  if (!/^application\/json\b/i.test(type)) throw new HttpError(ErrorCode.IM_ERR_BAD_REQUEST, "send the body as Content-Type: application/json");
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of req) {
    n += (chunk as Buffer).length;
    // Past the limit nothing is kept; the rest is read and dropped so the client gets its 413
    // (a socket closed under a sender loses the answer), up to a cap where it is simply cut off.
    if (n > maxBytes * DRAIN_FACTOR) {
      req.destroy();
      break;
    }
    if (n <= maxBytes) chunks.push(chunk as Buffer);
  }
  if (n > maxBytes) throw new HttpError(ErrorCode.IM_ERR_BAD_REQUEST, `request body larger than ${maxBytes} bytes`, 413);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (err) {
    throw new HttpError(ErrorCode.IM_ERR_BAD_REQUEST, `body is not JSON: ${(err as Error).message}`);
  }
}

/** `value` checked against a zod schema; 400 IM_ERR_BAD_REQUEST naming every offending field. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const details = r.error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join("."), message: i.message }));
  throw new HttpError(ErrorCode.IM_ERR_BAD_REQUEST, details.map((d) => `${d.path}: ${d.message}`).join("; "), 400, details);
}

/** Parse the JSON body of a request with a schema. */
export async function body<S extends z.ZodType>(ctx: Context, schema: S, maxBytes: number): Promise<z.output<S>> {
  return parse(schema, await readJson(ctx.req, maxBytes, ctx.get("content-type")), "body");
}

export type { Next };
