/**
 * Conformance tests for attachments (shared/store/attachments.ts): streaming round trips, ranges,
 * the size limit, bounded memory, concurrency, thumbnails and deletion. Registered by
 * runStoreSuite (store.suite.ts). Every failure path also checks the harness's orphans() count:
 * nothing of a refused upload may stay stored.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ErrorCode } from "../../shared/errors.js";
import { p2pConversation } from "../../shared/protocol/conversation.js";
import type { NewAttachment, Store } from "../../shared/store/store.js";
import {
  DEFAULT_LIMITS,
  collect,
  liveBytes,
  patternBytes,
  patternSha,
  patternSource,
  rejectsWithCode,
  sha256,
  streamSha,
  withStore,
  type StoreFactory,
} from "./store-helpers.js";

const MiB = 1024 * 1024;
const CONV = p2pConversation("alice", "bob");

function meta(extra: Partial<NewAttachment> = {}): NewAttachment {
  return { name: "voice.ogg", mime: "audio/ogg", owner: "alice", conv: CONV, createdAt: 1_700_000_000_000, ...extra };
}

async function put(s: Store, seed: number, size: number, extra: Partial<NewAttachment> = {}) {
  return s.putAttachment(meta(extra), patternSource(seed, size));
}

async function rangeOf(s: Store, id: string, start: number, end: number): Promise<Buffer> {
  return collect(await s.readAttachment(id, { start, end }));
}

export function registerAttachmentTests(factory: StoreFactory): void {
  test("a 5 MB attachment round-trips byte-identical, with its facts", () =>
    withStore(factory, async (s, h) => {
      const size = 5 * MiB + 123;
      const info = await put(s, 1, size, { name: "report.pdf", mime: "application/pdf" });
      assert.match(info.id, /^[0-9a-f-]{36}$/, "a random UUID");
      assert.deepEqual({ ...info, id: "" }, {
        id: "",
        name: "report.pdf",
        mime: "application/pdf",
        size,
        owner: "alice",
        conv: CONV,
        thumbnailId: null,
        thumbnailOf: null,
        createdAt: 1_700_000_000_000,
      });
      assert.deepEqual(await s.attachmentInfo(info.id), info);
      const got = await streamSha(await s.readAttachment(info.id));
      assert.deepEqual(got, { sha: patternSha(1, size), bytes: size });
      assert.equal(await s.attachmentInfo("no-such-id"), null);
      await rejectsWithCode(s.readAttachment("no-such-id"), ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT);
      assert.equal(await h.orphans(), 0);

      const copy = await s.attachmentInfo(info.id);
      if (copy) copy.size = 1;
      assert.equal((await s.attachmentInfo(info.id))?.size, size, "returned objects are copies");
    }));

  test("byte ranges: first, middle across chunks, last, clamped end, and past the end", () =>
    withStore(factory, async (s) => {
      const size = 700_001;
      const { id } = await put(s, 2, size);
      assert.deepEqual(await rangeOf(s, id, 0, 0), patternBytes(2, 0, 1), "first byte");
      assert.deepEqual(await rangeOf(s, id, 65_530, 270_000), patternBytes(2, 65_530, 270_001), "middle, across chunk boundaries");
      assert.deepEqual(await rangeOf(s, id, 65_536, 65_536 * 2 - 1), patternBytes(2, 65_536, 65_536 * 2), "exactly one 64 KiB chunk");
      assert.deepEqual(await rangeOf(s, id, size - 1, size - 1), patternBytes(2, size - 1, size), "last byte");
      assert.deepEqual(await rangeOf(s, id, size - 10, size + 1000), patternBytes(2, size - 10, size), "an end past the last byte is clamped");
      await rejectsWithCode(s.readAttachment(id, { start: size, end: size + 10 }), ErrorCode.IM_ERR_BAD_RANGE);
      await rejectsWithCode(s.readAttachment(id, { start: 10, end: 5 }), ErrorCode.IM_ERR_BAD_RANGE);
      await rejectsWithCode(s.readAttachment(id, { start: -1, end: 5 }), ErrorCode.IM_ERR_BAD_RANGE);
      await rejectsWithCode(s.readAttachment(id, { start: 0.5, end: 5 }), ErrorCode.IM_ERR_BAD_RANGE);

      const empty = await put(s, 3, 0, { name: "empty.txt", mime: "text/plain" });
      assert.equal(empty.size, 0);
      assert.equal((await collect(await s.readAttachment(empty.id))).length, 0);
      await rejectsWithCode(s.readAttachment(empty.id, { start: 0, end: 0 }), ErrorCode.IM_ERR_BAD_RANGE);
    }));

  test("the size limit is enforced mid-stream: reading stops and nothing stays behind", () =>
    withStore(
      factory,
      async (s, h) => {
        let produced = 0;
        const source = patternSource(4, 8 * MiB, { onPiece: (n) => (produced = n) });
        await rejectsWithCode(s.putAttachment(meta(), source), ErrorCode.IM_ERR_FILE_TOO_LARGE);
        assert.ok(produced > 3 * MiB && produced < 3 * MiB + 300_000, `stopped reading soon after the limit, read ${produced}`);
        assert.equal(await h.orphans(), 0, "no chunk or upload record left");
        assert.deepEqual(await s.attachmentsOf(CONV, Number.POSITIVE_INFINITY, 10), []);

        await rejectsWithCode(s.putAttachment(meta(), patternSource(4, 600_000), { maxBytes: 512 * 1024 }), ErrorCode.IM_ERR_FILE_TOO_LARGE);
        await rejectsWithCode(s.putAttachment(meta(), patternSource(4, 3.5 * MiB), { maxBytes: 4 * MiB }), ErrorCode.IM_ERR_FILE_TOO_LARGE);
        assert.equal(await h.orphans(), 0);
        const exact = await s.putAttachment(meta(), patternSource(5, 3 * MiB));
        assert.equal(exact.size, 3 * MiB, "exactly the limit is allowed");
        assert.equal((await streamSha(await s.readAttachment(exact.id))).sha, patternSha(5, 3 * MiB));
      },
      { ...DEFAULT_LIMITS, attachmentMaxBytes: 3 * MiB },
    ));

  test("memory stays bounded while streaming 16 MiB in and out", () =>
    withStore(factory, async (s) => {
      const size = 16 * MiB;
      const base = liveBytes();
      let peakIn = 0;
      let nextProbe = MiB;
      const probe = (n: number) => {
        if (n < nextProbe) return;
        nextProbe += MiB;
        peakIn = Math.max(peakIn, liveBytes() - base);
      };
      const { id } = await s.putAttachment(meta(), patternSource(6, size, { onPiece: probe }));
      let peakOut = 0;
      nextProbe = MiB;
      const out = await streamSha(await s.readAttachment(id), (n) => {
        if (n < nextProbe) return;
        nextProbe += MiB;
        peakOut = Math.max(peakOut, liveBytes() - base);
      });
      assert.equal(out.sha, patternSha(6, size));
      // One batch of chunks (about 1 MiB) plus slack; holding the file would be 16 MiB.
      assert.ok(peakIn < size / 4, `upload retained ${peakIn} bytes`);
      assert.ok(peakOut < size / 4, `download retained ${peakOut} bytes`);
    }));

  test("concurrent uploads stay separate, and a refused one disturbs none", () =>
    withStore(
      factory,
      async (s, h) => {
        const sizes = [1_500_000, 1_000_003, 65_536, 2_000_000];
        const [refused, ...done] = await Promise.allSettled([
          s.putAttachment(meta(), patternSource(99, 5 * MiB)),
          ...sizes.map((size, i) => put(s, 10 + i, size, { name: `f${i}` })),
        ]);
        assert.equal(refused?.status, "rejected");
        const infos = done.map((r) => {
          assert.equal(r.status, "fulfilled");
          return (r as PromiseFulfilledResult<Awaited<ReturnType<Store["putAttachment"]>>>).value;
        });
        assert.equal(new Set(infos.map((i) => i.id)).size, sizes.length);
        const reads = await Promise.all(infos.map(async (i) => streamSha(await s.readAttachment(i.id))));
        assert.deepEqual(
          reads,
          sizes.map((size, i) => ({ sha: patternSha(10 + i, size), bytes: size })),
        );
        assert.equal(await h.orphans(), 0);
        assert.deepEqual((await s.attachmentsOf(CONV, Number.POSITIVE_INFINITY, 10)).map((a) => a.name).sort(), ["f0", "f1", "f2", "f3"]);
      },
      { ...DEFAULT_LIMITS, attachmentMaxBytes: 3 * MiB },
    ));

  test("thumbnails link to their attachment, replace each other and go with it", () =>
    withStore(factory, async (s, h) => {
      const photo = await put(s, 20, 300_000, { name: "cat.jpg", mime: "image/jpeg" });
      const t1 = await put(s, 21, 5_000, { name: "cat-thumb.webp", mime: "image/webp", thumbnailOf: photo.id });
      assert.equal(t1.thumbnailOf, photo.id);
      assert.equal((await s.attachmentInfo(photo.id))?.thumbnailId, t1.id);
      const t2 = await put(s, 22, 6_000, { name: "cat-thumb2.webp", mime: "image/webp", thumbnailOf: photo.id });
      assert.equal((await s.attachmentInfo(photo.id))?.thumbnailId, t2.id);
      assert.equal(await s.attachmentInfo(t1.id), null, "the replaced thumbnail is deleted");

      await rejectsWithCode(put(s, 23, 100_000, { thumbnailOf: "no-such-id" }), ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT);
      await rejectsWithCode(put(s, 23, 100, { thumbnailOf: photo.id, conv: p2pConversation("carol", "dave") }), ErrorCode.IM_ERR_BAD_ARGS);

      assert.equal(await s.deleteAttachment(t2.id), true);
      assert.equal((await s.attachmentInfo(photo.id))?.thumbnailId, null, "deleting a thumbnail unlinks it");
      const t3 = await put(s, 24, 7_000, { thumbnailOf: photo.id });
      assert.equal(await s.deleteAttachment(photo.id), true);
      assert.equal(await s.deleteAttachment(photo.id), false, "a second delete finds nothing");
      assert.equal(await s.attachmentInfo(t3.id), null, "the thumbnail goes with its attachment");
      await rejectsWithCode(s.readAttachment(photo.id), ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT);
      assert.equal(await h.orphans(), 0);
    }));

  test("attachmentsOf lists a conversation's attachments by age, for retention", () =>
    withStore(factory, async (s) => {
      const ids: string[] = [];
      for (const [i, t] of [30, 10, 20].entries()) ids.push((await put(s, 30 + i, 10, { createdAt: t, name: `a${t}` })).id);
      await put(s, 40, 10, { createdAt: 5, conv: "golang" });
      assert.deepEqual((await s.attachmentsOf(CONV, Number.POSITIVE_INFINITY, 10)).map((a) => a.name), ["a10", "a20", "a30"]);
      assert.deepEqual((await s.attachmentsOf(CONV, 30, 10)).map((a) => a.name), ["a10", "a20"], "strictly before");
      assert.deepEqual((await s.attachmentsOf(CONV, 100, 1)).map((a) => a.name), ["a10"]);
      assert.deepEqual(await s.attachmentsOf(CONV, 100, 0), []);
      assert.deepEqual((await s.attachmentsOf("golang", 100, 10)).map((a) => a.createdAt), [5]);
      await s.deleteAttachment(ids[1] ?? "");
      assert.deepEqual((await s.attachmentsOf(CONV, 100, 10)).map((a) => a.name), ["a20", "a30"]);
    }));

  test("a failing source or bad input: the source's own error, nothing stored", () =>
    withStore(factory, async (s, h) => {
      const boom = new Error("client went away");
      await assert.rejects(s.putAttachment(meta(), patternSource(50, 3 * MiB, { failAfter: { bytes: 1_200_000, error: boom } })), (err) => err === boom);
      assert.equal(await h.orphans(), 0);
      async function* text() {
        yield "not bytes" as unknown as Uint8Array;
      }
      await rejectsWithCode(s.putAttachment(meta(), text()), ErrorCode.IM_ERR_BAD_ARGS);
      await rejectsWithCode(s.putAttachment(meta({ mime: "" }), patternSource(51, 10)), ErrorCode.IM_ERR_BAD_ARGS);
      await rejectsWithCode(s.putAttachment(meta({ name: "n".repeat(300) }), patternSource(51, 10)), ErrorCode.IM_ERR_BAD_ARGS);
      assert.deepEqual(await s.attachmentsOf(CONV, Number.POSITIVE_INFINITY, 10), []);
      assert.equal(await h.orphans(), 0);
    }));

  test("a delete while a download runs: the download fails or completes intact, never wrong", () =>
    withStore(factory, async (s, h) => {
      const size = 3 * MiB;
      const { id } = await put(s, 60, size);
      const stream = await s.readAttachment(id);
      const it = stream[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(first.done, false);
      assert.equal(await s.deleteAttachment(id), true);
      const parts: Buffer[] = [first.value as Buffer];
      try {
        for (let r = await it.next(); !r.done; r = await it.next()) parts.push(r.value as Buffer);
        assert.equal(sha256(Buffer.concat(parts)), patternSha(60, size), "completed: the whole original");
      } catch (err) {
        assert.equal((err as { code?: string }).code, ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT);
      }
      assert.equal(await h.orphans(), 0);
    }));

  test("attachments survive a reopen", () =>
    withStore(factory, async (s, h) => {
      const a = await put(s, 70, 200_000);
      await s.close();
      const r = await h.reopen();
      assert.deepEqual(await r.attachmentInfo(a.id), a);
      assert.equal((await streamSha(await r.readAttachment(a.id))).sha, patternSha(70, 200_000));
    }));

  test("pruneAttachments: old attachments of every conversation go with their thumbnails, in budget-sized slices; newer ones stay", () =>
    withStore(factory, async (s, h) => {
      const T = 1_700_000_000_000;
      const topicConv = "club";
      const oldP2p = await put(s, 80, 3_000, { createdAt: T - 10 });
      const oldThumb = await put(s, 81, 500, { createdAt: T - 9, name: "t.webp", mime: "image/webp", thumbnailOf: oldP2p.id });
      const oldTopic = await put(s, 82, 3_000, { createdAt: T - 5, conv: topicConv });
      const fresh = await put(s, 83, 3_000, { createdAt: T });
      const freshThumb = await put(s, 84, 500, { createdAt: T - 20, name: "t2.webp", mime: "image/webp", thumbnailOf: fresh.id });
      let after: string | undefined;
      let deleted = 0;
      let slices = 0;
      do {
        const r = await s.pruneAttachments(T, { budget: 1, after });
        assert.ok(r.scanned <= 1, "a slice looks at no more than its budget");
        deleted += r.deleted;
        after = r.next;
        assert.ok(++slices < 20, "the walk ends");
      } while (after !== undefined);
      assert.equal(deleted, 2, "the two old attachments (their thumbnails go with them, uncounted)");
      for (const gone of [oldP2p, oldThumb, oldTopic]) assert.equal(await s.attachmentInfo(gone.id), null, `${gone.name} deleted`);
      assert.notEqual(await s.attachmentInfo(fresh.id), null, "a newer attachment stays");
      assert.notEqual(await s.attachmentInfo(freshThumb.id), null, "a thumbnail is never pruned apart from its attachment");
      assert.equal((await s.pruneAttachments(T, { budget: 100 })).deleted, 0, "idempotent");
      assert.equal(await h.orphans(), 0, "no chunks left behind");
    }));
}
