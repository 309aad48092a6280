import { z } from "zod";
import { commonKeys, hostPort, linkKeys, positiveMs } from "../../shared/config/common.js";

/** Shortest API key or webhook secret accepted (256 bits, as from `openssl rand -base64 32`). */
export const MIN_API_SECRET_BYTES = 32;

/**
 * A secret given in one of three ways: inline (`value`, discouraged: conf files get copied
 * around), in a file (`file`, a trailing newline ignored), or in an environment variable (`env`,
 * its name). Exactly one. None is shipped in the repository: `npm start` creates data/dev-api.key.
 */
const secretSource = z
  .strictObject({
    value: z.string().min(MIN_API_SECRET_BYTES, `a secret must have at least ${MIN_API_SECRET_BYTES} characters`).optional(),
    file: z.string().min(1).optional(),
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "an environment variable name").optional(),
  })
  .refine((s) => [s.value, s.file, s.env].filter((v) => v !== undefined).length === 1, "give exactly one of value, file, env");
export type SecretSource = z.output<typeof secretSource>;

const apiKey = secretSource.and(
  z.object({
    /** Who holds the key: logged with each request and the unit of its rate limit (never the key itself). */
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "1-64 characters of A-Z a-z 0-9 _ - ."),
    /** This key's request rate, when not rateLimit.requestsPerSec. */
    requestsPerSec: z.number().int().positive().optional(),
  }),
);

export const WEBHOOK_EVENTS = ["login", "logout", "message.offline"] as const;

export const apiSchema = z.strictObject({
  ...commonKeys,
  ...linkKeys,
  /** HTTP listener. Loopback by default: the API acts as any user; put it behind your backend's network, not the internet. */
  listen: hostPort.default("127.0.0.1:17090"),
  /** Subscriber id sent with SUBSCRIBE_CHANNEL. */
  id: z.string().min(1).default("api-17090"),
  /** `Authorization: Bearer <key>` must match one of these (constant-time compare). At least one. */
  keys: z.array(apiKey).min(1, "the server API needs at least one key (keys: [{ name, file | env | value }])"),
  rateLimit: z
    .strictObject({
      /** Requests per key per second (unless the key sets its own); over it, 429 with Retry-After. */
      requestsPerSec: z.number().int().positive().default(200),
      /** Requests with a missing or wrong key per source address per minute before it is refused for a minute (key guessing). */
      failedAuthPerMinute: z.number().int().positive().default(30),
    })
    .prefault({}),
  /** Open HTTP connections at once; more are refused by the listener (keep-alive clients reuse theirs). */
  maxConnections: z.number().int().positive().default(1024),
  /** Largest request body; bigger ones get 413. */
  maxBodyBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024),
  /** A msg_server that has not answered an API command within this is reported as 503. */
  requestTimeoutMs: positiveMs.default(5000),
  /** How long a disconnect's revocation of the user's tokens is kept: the longest a token can live. */
  revokeForSec: z.number().int().positive().default(30 * 86400),
  /** Where logins, logouts and messages to offline users are POSTed; absent, no webhook. */
  webhook: z
    .strictObject({
      url: z.url({ protocol: /^https?$/ }),
      /** HMAC-SHA256 key of the X-FishChat-Signature header. */
      secret: secretSource,
      events: z.array(z.enum(WEBHOOK_EVENTS)).min(1).default([...WEBHOOK_EVENTS]),
      timeoutMs: positiveMs.default(5000),
      /** Attempts per event (the first included) before it is dropped with a warning. */
      maxAttempts: z.number().int().min(1).max(100).default(8),
      retryMinMs: positiveMs.default(500),
      retryMaxMs: positiveMs.default(60_000),
      /** POSTs in flight at once. */
      concurrency: z.number().int().min(1).max(64).default(4),
      /** Events waiting (for delivery or a retry) before new ones are dropped: by count and by bytes. */
      maxQueue: z.number().int().positive().default(10_000),
      maxQueueBytes: z.number().int().positive().default(16 * 1024 * 1024),
    })
    .optional(),
});
export type ApiConfig = z.output<typeof apiSchema>;
