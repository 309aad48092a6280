/**
 * The MongoDB Store adapter (mongoose on a private connection): opening, error mapping, and the
 * assembly of mongo-messages.ts and mongo-topics.ts (collections: mongo-models.ts).
 *
 * Use a replica set in production. Writes are acknowledged by a majority, so no failover can roll
 * them back, and retried once by the driver on a transient error; a resolved promise means
 * committed. How multi-document writes stay safe without transactions: mongo-messages.ts.
 */
import { mongoPrune } from "./mongo-retention.js";
import type { PruneCursor, RetentionPolicy } from "./retention.js";
import { createConnection, type Connection } from "mongoose";
import { ConfigError, ErrorCode, ImError, UnavailableError } from "../errors.js";
import { SourceError } from "./attachments.js";
import { mongoAttachmentOps } from "./mongo-attachments.js";
import { mongoConversationOps } from "./mongo-conversations.js";
import { mongoMessageOps } from "./mongo-messages.js";
import { defineModels, type MongoModels } from "./mongo-models.js";
import { mongoTopicOps } from "./mongo-topics.js";
import type { Store, StoreLimits } from "./store.js";

export interface MongoStoreOptions {
  /** e.g. mongodb://m1:27017,m2:27017,m3:27017/?replicaSet=rs0 */
  uri: string;
  /** Database name; "im" like v1. */
  dbName?: string;
  limits: StoreLimits;
  /**
   * How long to wait for a reachable server, at open and per operation. Default: the URI's
   * serverSelectionTimeoutMS if it has one, else 5000 ms.
   */
  connectTimeoutMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
/** Per process: 20 sockets carry many concurrent operations, and N processes x 20 stays far below a server's connection limit. */
const MAX_POOL_SIZE = 20;

/** Driver error names meaning "no server to talk to", as opposed to a refused operation. */
const UNREACHABLE = new Set([
  "MongoServerSelectionError",
  "MongooseServerSelectionError",
  "MongoNetworkError",
  "MongoNetworkTimeoutError",
  "MongoNotConnectedError",
  "MongoTopologyClosedError",
  "MongoPoolClosedError",
  "MongoServerClosedError",
]);

/** Hosts of a connection string, without credentials, database or options (which may hold secrets). */
export function mongoHosts(uri: string): string {
  const rest = uri.replace(/^[a-z0-9+.-]+:\/\//i, "");
  const hosts = rest.replace(/^[^@/?]*@/, "").split(/[/?]/)[0];
  return hosts || "(no host)";
}

/** The password of a connection string, as written and percent-decoded, to scrub from messages. */
function secretsOf(uri: string): string[] {
  const raw = /^[a-z0-9+.-]+:\/\/[^:@/?]*:([^@/?]*)@/i.exec(uri)?.[1];
  if (!raw) return [];
  try {
    return [raw, decodeURIComponent(raw)];
  } catch {
    return [raw];
  }
}

export async function openMongoStore(opts: MongoStoreOptions): Promise<Store> {
  const where = `MongoDB at ${mongoHosts(opts.uri)}`;
  const secrets = secretsOf(opts.uri);
  const scrub = (text: string) => secrets.reduce((t, secret) => t.split(secret).join("***"), text);

  const mapError: MapError = (err, op) => {
    if (err instanceof ImError) return err;
    const reason = scrub(err instanceof Error ? err.message : String(err));
    for (let e: unknown = err; e instanceof Error; e = e.cause) {
      if (e.name === "MongoParseError") return new ConfigError(`${where}: invalid connection string: ${reason}`, { cause: err });
      if (UNREACHABLE.has(e.name)) {
        return new UnavailableError(ErrorCode.IM_ERR_UNAVAILABLE, `${where} unreachable: ${reason}`, { cause: err });
      }
    }
    return new ImError(ErrorCode.IM_ERR_INTERNAL, `${where}: ${op} failed: ${reason}`, { cause: err });
  };

  // Explicit option > the URI's own serverSelectionTimeoutMS > our default (options override the URI).
  const uriTimeout = /[?&]serverSelectionTimeoutMS=/i.test(opts.uri);
  const timeout = opts.connectTimeoutMs ?? (uriTimeout ? undefined : DEFAULT_CONNECT_TIMEOUT_MS);
  let conn: Connection;
  try {
    conn = createConnection(opts.uri, {
      dbName: opts.dbName ?? "im",
      ...(timeout === undefined ? {} : { serverSelectionTimeoutMS: timeout, connectTimeoutMS: timeout }),
      maxPoolSize: MAX_POOL_SIZE,
      retryWrites: true,
      // Majority-acknowledged writes cannot be rolled back by a failover. With w:1 a new primary
      // could lose a counter $inc and hand out the same seq again: exactly the regression we forbid.
      writeConcern: { w: "majority" },
      // Heads, counters and dedup lookups must see the latest writes, never a lagging secondary.
      readPreference: "primary",
      // Fail fast instead of queueing operations in memory while the server is away.
      bufferCommands: false,
    });
  } catch (err) {
    throw mapError(err, "open");
  }
  // Without a listener, a connection error emitted after open would crash the process. Only the
  // scrubbed message is logged: the driver's error (the cause) can quote the URI's password.
  conn.on("error", (err: unknown) => opts.log?.warn({ err: mapError(err, "connection").message }, "MongoDB connection error"));
  try {
    await conn.asPromise();
    const models = await defineModels(conn);
    return await mongoStore(conn, models, opts, mapError);
  } catch (err) {
    // Close so the driver's monitoring timers do not keep the process alive after a failed open.
    await conn.close(true).catch(() => undefined);
    throw mapError(err, "open");
  }
}

/** Wrap an operation so every failure leaves as an ImError (unreachable -> IM_ERR_UNAVAILABLE). */
function guard<A extends unknown[], R>(op: string, fn: (...args: A) => Promise<R>, mapError: MapError): (...args: A) => Promise<R> {
  return async (...args: A) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw mapError(err, op);
    }
  };
}

type MapError = (err: unknown, op: string) => ImError;

async function mongoStore(conn: Connection, models: MongoModels, opts: MongoStoreOptions, mapError: MapError): Promise<Store> {
  const c = mongoConversationOps(models);
  const m = mongoMessageOps(models, opts.limits, c);
  const t = mongoTopicOps(models, c);
  const a = mongoAttachmentOps(conn, models, opts.limits, mapError);
  try {
    const swept = await a.sweepStaleWork();
    if (swept > 0) opts.log?.warn({ swept }, "finished attachment uploads and deletes left by dead processes");
  } catch (err) {
    // Only leftovers stay; serving matters more.
    opts.log?.warn({ err: mapError(err, "sweep").message }, "could not sweep stale attachment work");
  }
  let closed: Promise<void> | undefined;
  return {
    kind: "mongo",
    atomicAppends: false,
    appendP2P: guard("appendP2P", m.appendP2P, mapError),
    inboxRange: guard("inboxRange", m.inboxRange, mapError),
    inboxHeads: guard("inboxHeads", m.inboxHeads, mapError),
    inboxPending: guard("inboxPending", m.inboxPending, mapError),
    ackInbox: guard("ackInbox", m.ackInbox, mapError),
    createTopic: guard("createTopic", t.createTopic, mapError),
    updateTopic: guard("updateTopic", t.updateTopic, mapError),
    deleteTopic: guard("deleteTopic", t.deleteTopic, mapError),
    invite: guard("invite", t.invite, mapError),
    isInvited: guard("isInvited", t.isInvited, mapError),
    getTopic: guard("getTopic", t.getTopic, mapError),
    listTopics: guard("listTopics", t.listTopics, mapError),
    addMember: guard("addMember", t.addMember, mapError),
    removeMember: guard("removeMember", t.removeMember, mapError),
    isMember: guard("isMember", t.isMember, mapError),
    members: guard("members", t.members, mapError),
    topicsOf: guard("topicsOf", t.topicsOf, mapError),
    appendTopic: guard("appendTopic", m.appendTopic, mapError),
    topicRange: guard("topicRange", m.topicRange, mapError),
    topicHeads: guard("topicHeads", m.topicHeads, mapError),
    getCursor: guard("getCursor", t.getCursor, mapError),
    setCursors: guard("setCursors", t.setCursors, mapError),
    history: guard("history", m.history, mapError),
    setReadPosition: guard("setReadPosition", c.setReadPosition, mapError),
    readPositions: guard("readPositions", c.readPositions, mapError),
    conversations: guard("conversations", c.conversations, mapError),
    async putAttachment(meta, data, o) {
      try {
        return await a.putAttachment(meta, data, o);
      } catch (err) {
        // The caller's own stream failed (a client that went away): give its error back as it was.
        throw err instanceof SourceError ? err.original : mapError(err, "putAttachment");
      }
    },
    attachmentInfo: guard("attachmentInfo", a.attachmentInfo, mapError),
    readAttachment: guard("readAttachment", a.readAttachment, mapError),
    deleteAttachment: guard("deleteAttachment", a.deleteAttachment, mapError),
    attachmentsOf: guard("attachmentsOf", a.attachmentsOf, mapError),
    pruneAttachments: guard("pruneAttachments", a.pruneAttachments, mapError),
    prune: guard("prune", (policy: RetentionPolicy, o: { now: number; budget: number; after?: PruneCursor }) => mongoPrune(models, policy, o), mapError),
    upsertClient: guard("upsertClient", t.upsertClient, mapError),
    getClient: guard("getClient", t.getClient, mapError),
    close() {
      // Idempotent: shutdown paths may call close twice.
      closed ??= conn.close();
      return closed;
    },
  };
}
