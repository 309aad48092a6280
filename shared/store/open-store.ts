/**
 * Pick the store adapter from configuration: MongoDB when a URI is given (config or the
 * FISHCHAT_MONGO_URI environment variable, so a deployment can switch without editing files),
 * otherwise the embedded LMDB store under the data directory.
 */
import path from "node:path";
import { openLmdbStore } from "./lmdb-store.js";
import { openMongoStore } from "./mongo-store.js";
import type { Store, StoreLimits } from "./store.js";
import type { Durability } from "./lmdb-layout.js";

export interface StoreConfig {
  mongoUri?: string;
  /** MongoDB database name; default "im" like v1. */
  mongoDb?: string;
  /** The LMDB environment lives in `<dataDir>/store`; every process of one node must share it. */
  dataDir: string;
  inboxMaxPending: number;
  /** Largest attachment in bytes (default 25 MiB, attachments.ts DEFAULT_ATTACHMENT_MAX_BYTES). */
  attachmentMaxBytes?: number;
  /** LMDB only: when an acknowledged write counts as safe (lmdb-layout.ts). MongoDB always writes w: "majority". */
  durability?: Durability;
  /** LMDB only: see lmdb-stall-guard.ts. */
  stalledWriterKillMs?: number;
}

export interface StoreLog {
  warn(obj: object, msg: string): void;
}

export async function openStore(cfg: StoreConfig, log?: StoreLog): Promise<Store> {
  const limits: StoreLimits = { inboxMaxPending: cfg.inboxMaxPending };
  if (cfg.attachmentMaxBytes !== undefined) limits.attachmentMaxBytes = cfg.attachmentMaxBytes;
  const uri = cfg.mongoUri || process.env.FISHCHAT_MONGO_URI;
  if (uri) {
    return openMongoStore({ uri, dbName: cfg.mongoDb, limits, log });
  }
  return openLmdbStore({ path: path.join(cfg.dataDir, "store"), limits, log, durability: cfg.durability, stalledWriterKillMs: cfg.stalledWriterKillMs });
}
