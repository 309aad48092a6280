import { z } from "zod";
import { clientAuthSchema } from "../../shared/auth/config.js";
import { commonKeys, hostPort, positiveMs, storeSchema } from "../../shared/config/common.js";
import { limitsSchema } from "../../shared/limits/config.js";
import { tlsServerSchema } from "../../shared/net/tls-config.js";

/**
 * The WebSocket listener (docs/PROTOCOL.md "WebSocket"): browsers and mobile apps speak the JSON
 * dialect on its own port. Off unless the `ws` key is present.
 */
export const wsListenerSchema = z.strictObject({
  /** Where to listen, "host:port". */
  listen: hostPort,
  /** The HTTP path of the upgrade; other paths get 404. */
  path: z.string().regex(/^\/[^\s?#]*$/, 'expected a path such as "/ws"').default("/ws"),
  /** The URL clients are given (registry, gateway's /v1/endpoint). Default: ws:// (wss:// with tls) + the advertiseAddr host + the listen port + path. */
  advertiseUrl: z.string().regex(/^wss?:\/\/[^\s/]+(\/\S*)?$/, 'expected "ws://host:port/path" or "wss://..."').optional(),
  /**
   * Browser origins allowed to connect (exact, e.g. "https://chat.example.com"; "*" for any). A
   * request without an Origin header is not from a browser page (mobile apps, servers) and is
   * accepted. Default: none, so no web page can open a session until origins are listed.
   */
  allowedOrigins: z.array(z.string().min(1)).default([]),
  /** WebSocket connections at once on this listener (the msg_server's maxConnections counts them too); beyond it the upgrade gets 503. */
  maxConnections: z.number().int().positive().default(50_000),
  /** The server pings each WebSocket this often; the pong counts as traffic for idleTimeoutMs. Capped at half of idleTimeoutMs. */
  pingIntervalMs: positiveMs.default(20_000),
  /** The upgrade request must arrive complete within this time. */
  handshakeTimeoutMs: positiveMs.default(10_000),
  /** TLS (wss://): certFile, keyFile, ... as for other listeners. */
  tls: tlsServerSchema.optional(),
});
export type WsListenerConfig = z.output<typeof wsListenerSchema>;

/** PRESENCE and TOPIC_MEMBER notices (docs/PROTOCOL.md, "New pushes"). */
export const presenceSchema = z
  .strictObject({
    /** Push PRESENCE on login/logout and TOPIC_MEMBER on join/quit. */
    enabled: z.boolean().default(true),
    /**
     * Bound of one event: p2p peers told (the most recent conversations first), and clients one
     * server pushes one notice to. Each p2p peer costs a session-directory lookup in Redis.
     */
    maxFanout: z.number().int().positive().max(1000).default(200),
  })
  .prefault({});

/** TYPING (never stored). */
export const typingSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** Per session: TYPING commands per second on average (token bucket refill)... */
    perSec: z.number().positive().default(1),
    /** ...and at once. Beyond it: IM_ERR_RATE_LIMITED. */
    burst: z.number().int().positive().default(5),
  })
  .prefault({});

/**
 * The HTTP file endpoints (docs/PROTOCOL.md, "Files, images and voice notes"), served on the ws
 * listener's HTTP server; the size limit is store.attachmentMaxBytes.
 */
export const attachmentsSchema = z
  .strictObject({
    /** Serve /v1/files on the ws listener (needs `ws`). */
    enabled: z.boolean().default(true),
    /** The base URL clients are given (registry `files`, FILES_URL). Default: http(s):// + the ws URL's host and port + /v1/files. */
    advertiseUrl: z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'expected "http://host:port/v1/files" or "https://..."').optional(),
    /** Uploads per client per minute. */
    uploadsPerMinute: z.number().int().positive().default(30),
    /** Uploads per source address per minute (IPv6 per limits.ipv6PrefixBits prefix). */
    uploadsPerMinutePerAddress: z.number().int().positive().default(120),
    /** Uploads of one client running at once. */
    concurrentUploads: z.number().int().positive().default(2),
    /** Longer side of an image thumbnail, in pixels. */
    thumbnailPx: z.number().int().min(16).max(2048).default(320),
    /** Images with more input pixels than this get no thumbnail (decompression bombs). */
    thumbnailMaxPixels: z.number().int().positive().default(40_000_000),
    /** An upload's whole request (headers and body) must arrive within this time. */
    uploadTimeoutMs: positiveMs.default(300_000),
    /** Thumbnails made at once in this process (CPU-bound). */
    thumbnailConcurrency: z.number().int().positive().default(1),
  })
  .prefault({});

/**
 * Admission control of logins (services/msg_server/login-admission.ts, docs/SECURITY.md): what
 * keeps a reconnect storm (a msg_server with many clients dies, they all come here at once) from
 * taking this process's CPU, its Redis link and its store away from the sessions it already has.
 */
export const loginAdmissionSchema = z
  .strictObject({
    /**
     * Logins of this process in progress at once, from the token check to the end of the login
     * sync (directory claim, inbox and topic sync). Beyond it a login waits for a slot in the
     * queue below. @default 64
     */
    maxInProgress: z.number().int().positive().default(64),
    /**
     * Logins waiting for a slot, in arrival order; they cost no work until they get one. Beyond
     * it a login is refused before any work with `ERR IM_ERR_RATE_LIMITED <message>
     * <retryAfterMs>`; a v1 packet client, which has no such error, is closed and reconnects.
     * @default 4096
     */
    maxQueued: z.number().int().nonnegative().default(4096),
    /** The shortest wait given to a refused login. @default 200 */
    retryAfterMinMs: positiveMs.default(200),
    /** The longest: the wait grows with the queue of refused logins up to this. @default 30000 */
    retryAfterMaxMs: positiveMs.default(30_000),
    /** A login holds its slot at most this long, even if its sync has not settled (a hung store read). @default 10000 */
    maxHoldMs: positiveMs.default(10_000),
  })
  .refine((c) => c.retryAfterMinMs <= c.retryAfterMaxMs, { path: ["retryAfterMaxMs"], message: "retryAfterMaxMs must be at least retryAfterMinMs" })
  .prefault({});
export type LoginAdmissionConfig = z.output<typeof loginAdmissionSchema>;

export const msgServerSchema = z.strictObject({
  ...commonKeys,
  /** Where to listen, "host:port". */
  listen: hostPort.default("0.0.0.0:19000"),
  /**
   * The address clients and peers reach this server at (v1 `LocalIP`). It is the server's identity:
   * the gateway hands it out, sessions point at it, LOCATE_TOPIC_MSG_ADDR returns it.
   * Defaults to 127.0.0.1 with the listen port.
   */
  advertiseAddr: hostPort.optional(),
  store: storeSchema,
  /** Close a connection that sent nothing for this long (v1 clients ping every 20 s). */
  idleTimeoutMs: positiveMs.default(60_000),
  /**
   * A connection must log in (SEND_CLIENT_ID) or authenticate (AUTH) within this time of
   * connecting, however slowly it trickles bytes (a slowloris cannot hold it open).
   */
  loginTimeoutMs: positiveMs.default(10_000),
  /** Who may log in as whom: signed tokens (default) or, for FishChatServer v1 clients only, "none". See docs/SECURITY.md. */
  clientAuth: clientAuthSchema,
  /** Abuse limits per session and per source address (shared/limits/config.ts, docs/SECURITY.md). */
  limits: limitsSchema,
  /** Logins in progress at once and the wait given to those refused (reconnect storms). */
  loginAdmission: loginAdmissionSchema,
  /**
   * Who ONLINE_USERS and TOPIC_MEMBERS show: "all" (v1's :olu works), "peers" (ONLINE_USERS
   * lists only users sharing a topic with the caller; TOPIC_MEMBERS only for members), "none"
   * (both refused with IM_ERR_FORBIDDEN).
   */
  directoryVisibility: z.enum(["all", "peers", "none"]).default("all"),
  /** Topics one user may own (CREATE_TOPIC beyond it: IM_ERR_TOO_MANY_TOPICS); bounds what one account can make us store. */
  maxTopicsPerUser: z.number().int().positive().default(100),
  /** Members of one topic (JOIN_TOPIC beyond it: IM_ERR_TOPIC_FULL); bounds one message's fan-out. */
  maxMembersPerTopic: z.number().int().positive().default(10_000),
  /** HISTORY and other store reads one connection may have running at once; more wait their turn. */
  maxReadsPerConnection: z.number().int().positive().default(2),
  /** Store reads for clients running at once in the whole process. */
  maxReadsPerProcess: z.number().int().positive().default(64),
  /**
   * SIGTERM drain: clients get GOAWAY with delays spread over this window, and connections still
   * open at its end are closed. See docs/SECURITY.md ("Graceful drain").
   */
  drainMs: positiveMs.default(10_000),
  /** TTL of a client's entry in the Redis session table; refreshed every third of it while connected. */
  sessionTtlMs: positiveMs.default(60_000),
  /** Interval of the /sysctrl/monitor stats beat (v1 MonitorBeatTime was 5 s). */
  monitorBeatMs: positiveMs.default(1000),
  /** Longest message body accepted, in UTF-8 bytes. */
  maxMessageBytes: z.number().int().positive().default(32 * 1024),
  /** Bytes queued for a client before it is disconnected as a slow consumer (its messages wait in the store). */
  maxOutboundBytes: z.number().int().positive().default(8 * 1024 * 1024),
  /** Bytes queued for an internal link (router, manager, monitor) before it is reset. */
  maxLinkOutboundBytes: z.number().int().positive().default(256 * 1024 * 1024),
  /** Commands of one connection awaiting their reply before we stop reading from it. */
  maxInflightPerConnection: z.number().int().positive().default(1024),
  /** How often undelivered inbox and topic messages of local sessions are looked for (safety net for lost routes). */
  inboxSweepMs: positiveMs.default(2000),
  /** Inbox/topic entries read from the store per batch when catching up. */
  syncBatch: z.number().int().positive().default(500),
  /** Offline topic backlog delivered at login, per topic: at most this many messages... */
  topicBacklogMax: z.number().int().nonnegative().default(1000),
  /** ...and none older than this. */
  topicBacklogMaxAgeMs: positiveMs.default(7 * 24 * 3600 * 1000),
  /** How often acknowledged topic positions are written to the store (coalesced). */
  cursorFlushMs: positiveMs.default(1000),
  /** Upper bound of live client connections; beyond it new connections are refused. */
  maxConnections: z.number().int().positive().default(200_000),
  presence: presenceSchema,
  typing: typingSchema,
  attachments: attachmentsSchema,
  /** WebSocket listener for browsers and apps (JSON dialect); off when absent. */
  ws: wsListenerSchema.optional(),
  /**
   * A second TCP listener speaking TLS (both codecs inside it), for clients and internal links.
   * A TLS listener of its own rather than sniffing 0x16 on the plain port: a v1 packet frame
   * could begin with that byte too. Needs `tls`.
   */
  tlsListen: hostPort.optional(),
  /** The TLS address clients and links are given (registry, gateway). Default: advertiseAddr's host with tlsListen's port. */
  tlsAdvertiseAddr: hostPort.optional(),
  /** Certificate, key, and the CA for client certificates (mutual TLS for internal links). */
  tls: tlsServerSchema.optional(),
  /**
   * Which connections may AUTH as an internal link: "any" (also plaintext), "tls" (only over the
   * TLS listener, so the cluster secret never crosses the network in clear) or "mtls" (TLS with a
   * client certificate signed by tls.caFile, which needs tls.clientCert "optional" or "required").
   */
  internalAuth: z.enum(["any", "tls", "mtls"]).default("any"),
}).superRefine((c, ctx) => {
  if ((c.tlsListen === undefined) !== (c.tls === undefined)) ctx.addIssue({ code: "custom", path: ["tlsListen"], message: "tlsListen and tls must be set together" });
  if (c.internalAuth !== "any" && c.tls === undefined) ctx.addIssue({ code: "custom", path: ["internalAuth"], message: `internalAuth "${c.internalAuth}" needs a TLS listener (tlsListen and tls)` });
  if (c.internalAuth === "mtls" && c.tls?.clientCert === "none") ctx.addIssue({ code: "custom", path: ["internalAuth"], message: 'internalAuth "mtls" needs tls.clientCert "optional" or "required"' });
});
export type MsgServerConfig = z.output<typeof msgServerSchema>;

/** The TLS address this server is reached at, if it has a TLS listener. */
export function tlsAdvertiseAddrOf(cfg: MsgServerConfig): string | undefined {
  if (!cfg.tlsListen) return undefined;
  if (cfg.tlsAdvertiseAddr) return cfg.tlsAdvertiseAddr;
  const host = advertiseAddrOf(cfg).slice(0, advertiseAddrOf(cfg).lastIndexOf(":"));
  return `${host}:${cfg.tlsListen.slice(cfg.tlsListen.lastIndexOf(":") + 1)}`;
}

export function advertiseAddrOf(cfg: MsgServerConfig): string {
  if (cfg.advertiseAddr) return cfg.advertiseAddr;
  const port = cfg.listen.slice(cfg.listen.lastIndexOf(":") + 1);
  return `127.0.0.1:${port}`;
}
