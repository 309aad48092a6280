import { z } from "zod";

const perSec = z.number().positive();
const count = z.number().int().positive();
const sec = z.number().int().positive();

/**
 * `limits` of a client-facing service (msg_server; the per-address part also fits the gateway).
 * Every limit is on by default: a limiter that must be switched on protects nobody.
 */
export const limitsSchema = z
  .strictObject({
    /**
     * Per session, messages sent per second on average (token bucket refill). Keeps one flooding
     * client from filling the store and its recipients' inboxes. @default 50
     */
    sendMessagesPerSec: perSec.default(50),
    /** Per session, messages that may be sent at once before the rate applies (bucket size). @default 100 */
    sendBurstMessages: count.default(100),
    /** Per session, message body bytes per second on average: the same flood measured in bytes. @default 262144 (256 KiB) */
    sendBytesPerSec: perSec.default(256 * 1024),
    /**
     * Per session, body bytes that may be sent at once. A message larger than this passes only with
     * a full bucket, and empties it. @default 1048576 (1 MiB)
     */
    sendBurstBytes: count.default(1024 * 1024),
    /**
     * Open connections per source address. Keeps one host from using up the server's connection
     * slots and file descriptors; high, because whole offices share one NAT address. @default 256
     */
    maxConnectionsPerAddress: count.default(256),
    /**
     * Login attempts (SEND_CLIENT_ID) per source address per loginWindowSec, successful or not.
     * Spreads a login storm from one address and bounds the token checks it can make us do. @default 120
     */
    loginAttemptsPerAddress: count.default(120),
    /** @default 60 */
    loginWindowSec: sec.default(60),
    /**
     * Failed logins per source address within failedAuthWindowSec; with the last one the address is
     * blocked for failedAuthBlockSec. Stops guessing of tokens (and of the cluster secret). @default 10
     */
    failedAuthPerAddress: count.default(10),
    /** @default 600 (10 minutes) */
    failedAuthWindowSec: sec.default(600),
    /** @default 900 (15 minutes) */
    failedAuthBlockSec: sec.default(900),
    /**
     * IPv6 sources are counted per prefix of this many bits: one host usually owns a whole /64, so
     * per-address counting would let it take 2^64 identities (and as many limiter entries). @default 64
     */
    ipv6PrefixBits: z.number().int().min(32).max(128).default(64),
  })
  .prefault({});
export type LimitsConfig = z.output<typeof limitsSchema>;
