/**
 * Read positions, conversations and attachments on one LMDB store shared by several processes
 * (lmdb-store-child.ts), and the LMDB-only internals the shared suite cannot see: no stale
 * `recent` entries, and the sweep of an upload whose process was killed.
 */
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { p2pConversation } from "../../shared/protocol/conversation.js";
import { openDbs } from "../../shared/store/lmdb-layout.js";
import { lmdbAttachmentLeftovers, lmdbDbsOf, openLmdbStore } from "../../shared/store/lmdb-store.js";
import type { Store } from "../../shared/store/store.js";
import { CHECK_RANGE, HUB, ROOM, type ReadReport, type StoreChildReport, type WriteReport, type WrittenAttachment } from "./lmdb-store-child.js";
import { patternBytes, patternSha, sha256 } from "./store-helpers.js";

const CHILD = path.join(import.meta.dirname, "lmdb-store-child.js");

function runChild(args: string[], onReport?: (r: StoreChildReport, kill: () => void) => void): Promise<StoreChildReport[]> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, args, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    const reports: StoreChildReport[] = [];
    child.on("message", (m) => {
      reports.push(m as StoreChildReport);
      onReport?.(m as StoreChildReport, () => child.kill("SIGKILL"));
    });
    child.on("error", reject);
    child.on("exit", (code, signal) =>
      code === 0 || signal === "SIGKILL" ? resolve(reports) : reject(new Error(`lmdb-store-child ${args[0]} exited with ${code}`)),
    );
  });
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "fishchat-lmdb-conv-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function withStoreAt(dir: string, fn: (s: Store) => Promise<void>, log?: { warn(obj: object, msg: string): void }): Promise<void> {
  const s = await openLmdbStore({ path: dir, limits: { inboxMaxPending: 1_000_000 }, log });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

async function prepare(dir: string): Promise<void> {
  await withStoreAt(dir, async (s) => {
    await s.createTopic(ROOM, HUB, 1);
  });
}

async function write(dir: string, k: number): Promise<WriteReport> {
  const [r] = await runChild(["write", dir, String(k)]);
  assert.equal(r?.mode, "write");
  return r as WriteReport;
}

test("lmdb: three processes read the conversations and attachments another process wrote", async () =>
  withDir(async (dir) => {
    await prepare(dir);
    const written = await write(dir, 1);
    const atts = written.attachments;
    const reports = (await Promise.all([1, 2, 3].map(() => runChild(["read", dir, JSON.stringify(atts)])))).map((r) => r[0] as ReadReport);
    const conv = p2pConversation("w1", HUB);
    for (const r of reports) {
      // 60 messages, the last (i = 59, ts 1059) from w1; hub READ 30, its own last is seq 59.
      // The topic: 10 posts by w1, the last at ts 1054; hub (its creator) never read it.
      assert.deepEqual(r.list, [
        [conv, 60, 59, 1, 60],
        [ROOM, 10, 0, 10, null],
      ]);
      assert.deepEqual(r.reads, [
        [conv, 59],
        [ROOM, 0],
      ]);
      assert.deepEqual(
        r.attachments.map((a) => [a.sha, a.bytes, a.size]),
        atts.map((a) => [patternSha(a.seed, a.size), a.size, a.size]),
      );
      for (const [i, a] of atts.entries()) {
        const want = a.size > CHECK_RANGE.end ? sha256(patternBytes(a.seed, CHECK_RANGE.start, CHECK_RANGE.end + 1)) : "";
        assert.equal(r.attachments[i]?.rangeSha, want);
      }
    }
    await withStoreAt(dir, async (s) => {
      assert.equal((await s.attachmentInfo(atts[0]?.id ?? ""))?.thumbnailId, written.thumbnailId);
    });
  }));

test("lmdb: two processes append and upload at once; no stale list entries, no leftovers", async () =>
  withDir(async (dir) => {
    await prepare(dir);
    const [a, b] = await Promise.all([write(dir, 2), write(dir, 3)]);
    assert.ok(a && b);
    await withStoreAt(dir, async (s) => {
      const list = await s.conversations(HUB, 100);
      const byConv = Object.fromEntries(list.map((c) => [c.conv, [c.head, c.activity, c.unread]]));
      // The topic's activity is its last message's ts, whichever process posted it last.
      const room = list.find((c) => c.conv === ROOM);
      assert.ok(room?.last && [2054, 3054].includes(room.last.ts));
      assert.deepEqual(byConv, {
        [p2pConversation("w2", HUB)]: [60, 2059, 1],
        [p2pConversation("w3", HUB)]: [60, 3059, 1],
        [ROOM]: [20, room.last.ts, 20],
      });
      const activities = list.map((c) => c.activity);
      assert.deepEqual(activities, [...activities].sort((x, y) => y - x), "newest first");
      const all: WrittenAttachment[] = [...a.attachments, ...b.attachments];
      for (const att of all) {
        const info = await s.attachmentInfo(att.id);
        assert.equal(info?.size, att.size);
      }
      const dbs = lmdbDbsOf(s);
      assert.ok(dbs);
      assert.equal(lmdbAttachmentLeftovers(dbs), 0);
      // Each p2p conversation has exactly one `recent` key per participant: every append moved them.
      const keys = [...dbs.recent.getKeys()];
      assert.deepEqual(keys.map((k) => `${k[0]} ${k[2]}`).sort(), [
        `${HUB} ${p2pConversation("w2", HUB)}`,
        `${HUB} ${p2pConversation("w3", HUB)}`,
        `w2 ${p2pConversation("w2", HUB)}`,
        `w3 ${p2pConversation("w3", HUB)}`,
      ]);
    });
  }));

test("lmdb: an upload killed mid-way leaves chunks that the next open removes", async () =>
  withDir(async (dir) => {
    await prepare(dir);
    const reports = await runChild(["upload-forever", dir], (r, kill) => {
      if (r.mode === "progress") kill();
    });
    assert.equal(reports[0]?.mode, "progress");
    const raw = openDbs(dir);
    const left = lmdbAttachmentLeftovers(raw);
    await raw.env.close();
    assert.ok(left > 1, `the killed upload left its chunks and its upload record (${left})`);
    const warnings: string[] = [];
    // A store already open in this process does not sweep: the first open after the kill does.
    await withStoreAt(
      dir,
      async (s) => {
        const dbs = lmdbDbsOf(s);
        assert.ok(dbs);
        assert.equal(lmdbAttachmentLeftovers(dbs), 0, "swept at open");
        assert.deepEqual(await s.attachmentsOf("p2p:w9 hub", Number.POSITIVE_INFINITY, 10), []);
      },
      { warn: (_obj, msg) => warnings.push(msg) },
    );
    assert.ok(
      warnings.some((w) => /attachment uploads/.test(w)),
      `the sweep is logged: ${warnings.join("; ")}`,
    );
  }));
