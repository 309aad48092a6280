import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import test from "node:test";
import { parseConfig } from "../../../shared/config/load-config.js";
import { openLmdbStore } from "../../../shared/store/lmdb-store.js";
import { managerSchema } from "../../../services/manager/config.js";
import { RetentionJob } from "../../../services/manager/retention.js";
import { captureLogger } from "../../support/log-sink.js";

test("the manager's retention job prunes in slices until a pass is done, with the documented defaults", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fc-ret-"));
  const store = await openLmdbStore({ path: dir, limits: { inboxMaxPending: 100 } });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const cfg = parseConfig("m", { clusterSecret: "x".repeat(32), retention: { sliceMessages: 3 } }, managerSchema);
  assert.deepEqual([cfg.retention.maxAgeDays, cfg.retention.maxPerConversation], [365, 100_000], "defaults");
  const now = Date.now();
  await store.createTopic("old", "a", now);
  for (let i = 0; i < 7; i++) await store.appendTopic({ uuid: randomUUID(), topic: "old", from: "a", body: `x${i}`, ts: now - 400 * 86_400_000 });
  await store.appendTopic({ uuid: randomUUID(), topic: "old", from: "a", body: "fresh", ts: now });
  const file = (createdAt: number) => store.putAttachment({ name: "f.bin", mime: "application/octet-stream", owner: "a", conv: "old", createdAt }, Readable.from([Buffer.from("bytes")]));
  const oldFile = await file(now - 366 * 86_400_000);
  const graceFile = await file(now - 365 * 86_400_000 - 60_000); // past the age, within the hour of grace
  const job = new RetentionJob(cfg.retention, store, captureLogger().log);
  for (let i = 0; i < 3; i++) await job.slice(now);
  assert.equal(job.counters.retentionDeleted, 7);
  assert.equal(job.counters.retentionPasses, 0, "three slices of 3 cover 8 messages; the attachments come next");
  assert.deepEqual((await store.history("old", 0, 10)).map((m) => m.body), ["fresh"]);
  await job.slice(now);
  assert.equal(job.counters.retentionAttachmentsDeleted, 1);
  assert.equal(job.counters.retentionPasses, 1);
  assert.equal(await store.attachmentInfo(oldFile.id), null);
  assert.notEqual(await store.attachmentInfo(graceFile.id), null, "kept for attachmentGraceMs past the age limit");
  const off = new RetentionJob({ ...cfg.retention, maxAgeDays: 0, maxPerConversation: 0 }, store, captureLogger().log);
  assert.equal(off.enabled, false);
});
