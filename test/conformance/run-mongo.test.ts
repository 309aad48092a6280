/**
 * The store conformance suite on the MongoDB adapter. It needs a server, given by
 * FISHCHAT_TEST_MONGO_URI (e.g. mongodb://127.0.0.1:27017); no MongoDB server can be installed on
 * the dev/CI machines, so without it the suite is reported as skipped, never silently passed.
 * The unreachable-server tests need no server and always run.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { createConnection } from "mongoose";
import { ErrorCode, ImError } from "../../shared/errors.js";
import { KeyedSerial } from "../../shared/serial.js";
import { mongoHosts, openMongoStore } from "../../shared/store/mongo-store.js";
import type { Store, StoreLimits } from "../../shared/store/store.js";
import type { StoreHarness } from "./store-helpers.js";
import { runStoreSuite } from "./store.suite.js";

const uri = process.env.FISHCHAT_TEST_MONGO_URI;

async function dropDatabase(dbName: string): Promise<void> {
  if (!uri) return;
  const conn = createConnection(uri, { dbName, serverSelectionTimeoutMS: 5000 });
  try {
    await conn.asPromise();
    await conn.dropDatabase();
  } finally {
    await conn.close();
  }
}

/** Chunks whose GridFS file document does not exist, plus unfinished attachment work records. */
async function attachmentOrphans(dbName: string): Promise<number> {
  if (!uri) return 0;
  const conn = createConnection(uri, { dbName, serverSelectionTimeoutMS: 5000 });
  try {
    await conn.asPromise();
    const db = conn.db;
    assert.ok(db);
    const [row] = await db
      .collection("attachments.chunks")
      .aggregate<{ n: number }>([
        { $group: { _id: "$files_id", n: { $sum: 1 } } },
        { $lookup: { from: "attachments.files", localField: "_id", foreignField: "_id", as: "file" } },
        { $match: { file: { $size: 0 } } },
        { $group: { _id: null, n: { $sum: "$n" } } },
      ])
      .toArray();
    return (row?.n ?? 0) + (await db.collection("attachment_work").countDocuments());
  } finally {
    await conn.close();
  }
}

async function mongoHarness(limits: StoreLimits): Promise<StoreHarness> {
  if (!uri) throw new Error("FISHCHAT_TEST_MONGO_URI not set");
  // One database per test: tests stay independent and can run against a shared server.
  const dbName = `fishchat_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  const opened: Store[] = [];
  const open = async () => {
    const s = await openMongoStore({ uri, dbName, limits, connectTimeoutMs: 5000 });
    opened.push(s);
    return s;
  };
  return {
    store: await open(),
    reopen: open,
    async cleanup() {
      for (const s of opened) await s.close();
      await dropDatabase(dbName);
    },
    orphans: () => attachmentOrphans(dbName),
  };
}

if (uri) {
  runStoreSuite("mongo", mongoHarness);
} else {
  test(
    "mongo store conformance (skipped: FISHCHAT_TEST_MONGO_URI not set; no MongoDB server can be installed on this machine)",
    { skip: "FISHCHAT_TEST_MONGO_URI not set" },
    () => undefined,
  );
}

test("mongo: an unreachable server fails open with IM_ERR_UNAVAILABLE, naming the host but not the password", async () => {
  const started = Date.now();
  await assert.rejects(
    openMongoStore({
      uri: "mongodb://fishchat:s3cret-pw@127.0.0.1:1/im?authSource=admin",
      limits: { inboxMaxPending: 10 },
      connectTimeoutMs: 500,
    }),
    (err: unknown) => {
      assert.ok(err instanceof ImError, `expected an ImError, got ${String(err)}`);
      assert.equal(err.code, ErrorCode.IM_ERR_UNAVAILABLE);
      assert.match(err.message, /MongoDB at 127\.0\.0\.1:1 unreachable/);
      assert.doesNotMatch(err.message, /s3cret-pw/);
      return true;
    },
  );
  assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
});

test("mongo: the URI's own serverSelectionTimeoutMS applies; a malformed URI is IM_ERR_CONFIG", async () => {
  const started = Date.now();
  await assert.rejects(openMongoStore({ uri: "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=500", limits: { inboxMaxPending: 10 } }), {
    code: ErrorCode.IM_ERR_UNAVAILABLE,
  });
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
  await assert.rejects(openMongoStore({ uri: "mongo:/nohost", limits: { inboxMaxPending: 10 } }), { code: ErrorCode.IM_ERR_CONFIG });
});

test("mongo: hosts in messages never carry credentials, database or options", () => {
  assert.equal(mongoHosts("mongodb://u:p%40ss@m1:27017,m2:27017,m3:27017/im?replicaSet=rs0&tlsCertificateKeyFilePassword=x"), "m1:27017,m2:27017,m3:27017");
  assert.equal(mongoHosts("mongodb+srv://user:pw@cluster0.example.net/?retryWrites=true"), "cluster0.example.net");
  assert.equal(mongoHosts("mongodb://127.0.0.1:27017"), "127.0.0.1:27017");
  assert.equal(mongoHosts("mongodb://host?x=1"), "host");
});

test("mongo: per-conversation serialisation runs one key in call order and keys in parallel", async () => {
  const serial = new KeyedSerial();
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const task = (name: string, ms: number, fail = false) => async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    log.push(`start ${name}`);
    await sleep(ms);
    log.push(`end ${name}`);
    running--;
    if (fail) throw new Error(name);
    return name;
  };
  const a1 = serial.run("a", task("a1", 30, true));
  const a2 = serial.run("a", task("a2", 1));
  const b1 = serial.run("b", task("b1", 5));
  await assert.rejects(a1, /a1/);
  assert.equal(await a2, "a2", "a failed task does not block the next one");
  assert.equal(await b1, "b1");
  assert.ok(log.indexOf("end a1") < log.indexOf("start a2"), log.join(", "));
  assert.ok(log.indexOf("end b1") < log.indexOf("end a1"), "another key did not wait for a1");
  assert.equal(maxRunning, 2);
});
