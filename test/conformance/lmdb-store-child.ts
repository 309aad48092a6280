/**
 * Child process for the multi-process LMDB tests of read positions, conversations and
 * attachments (lmdb-store-procs.test.ts). argv: <mode> <store path> <arg>; it reports over IPC.
 * - write <k>: worker k appends a conversation with "hub", posts to topic "room", sets a read
 *   position and uploads two attachments and a thumbnail; reports what it wrote.
 * - read <json WrittenAttachment[]>: reads hub's conversation list, read positions, and every
 *   attachment whole and in a range; reports hashes.
 * - upload-forever: uploads an endless stream, reports once 3 MiB were taken, waits to be killed.
 */
import { p2pConversation } from "../../shared/protocol/conversation.js";
import { openLmdbStore } from "../../shared/store/lmdb-store.js";
import type { Store } from "../../shared/store/store.js";
import { collect, patternSource, sha256, streamSha } from "./store-helpers.js";

export interface WrittenAttachment {
  id: string;
  seed: number;
  size: number;
}

export interface WriteReport {
  mode: "write";
  conv: string;
  attachments: WrittenAttachment[];
  thumbnailId: string;
}

export interface ReadReport {
  mode: "read";
  list: [conv: string, head: number, read: number, unread: number, peerRead: number | null][];
  reads: [string, number][];
  attachments: { id: string; sha: string; bytes: number; rangeSha: string; size: number | undefined }[];
}

export interface ProgressReport {
  mode: "progress";
  produced: number;
}

export type StoreChildReport = WriteReport | ReadReport | ProgressReport;

/** The range every reader checks, across several 64 KiB chunks. */
export const CHECK_RANGE = { start: 70_000, end: 900_000 } as const;
export const HUB = "hub";
export const ROOM = "room";

async function write(store: Store, k: number): Promise<WriteReport> {
  const me = `w${k}`;
  const conv = p2pConversation(me, HUB);
  await store.addMember(ROOM, me);
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < 60; i++) {
    sends.push(store.appendP2P({ uuid: `${me}-${i}`, from: i % 2 ? me : HUB, to: i % 2 ? HUB : me, body: `m${i}`, ts: 1000 * k + i }));
    if (i % 6 === 0) sends.push(store.appendTopic({ uuid: `${me}-t${i}`, topic: ROOM, from: me, body: `t${i}`, ts: 1000 * k + i }));
  }
  await Promise.all(sends);
  await store.setReadPosition(HUB, conv, 30);
  const attachments: WrittenAttachment[] = [];
  for (let j = 0; j < 2; j++) {
    const seed = 100 * k + j;
    const size = 1_200_000 + j * 77_777;
    const info = await store.putAttachment({ name: `f${j}`, mime: "application/octet-stream", owner: me, conv }, patternSource(seed, size));
    attachments.push({ id: info.id, seed, size });
  }
  const first = attachments[0];
  if (!first) throw new Error("no attachment written");
  const seed = 100 * k + 50;
  const thumb = await store.putAttachment({ name: "thumb", mime: "image/webp", owner: me, conv, thumbnailOf: first.id }, patternSource(seed, 4_000));
  attachments.push({ id: thumb.id, seed, size: 4_000 });
  return { mode: "write", conv, attachments, thumbnailId: thumb.id };
}

async function read(store: Store, atts: WrittenAttachment[]): Promise<ReadReport> {
  const list = (await store.conversations(HUB, 100)).map((c): ReadReport["list"][number] => [c.conv, c.head, c.read, c.unread, c.peerRead]);
  const reads = [...(await store.readPositions(HUB, list.map((l) => l[0]))).entries()];
  const attachments: ReadReport["attachments"] = [];
  for (const a of atts) {
    const whole = await streamSha(await store.readAttachment(a.id));
    const range = a.size > CHECK_RANGE.end ? sha256(await collect(await store.readAttachment(a.id, CHECK_RANGE))) : "";
    attachments.push({ id: a.id, ...whole, rangeSha: range, size: (await store.attachmentInfo(a.id))?.size });
  }
  return { mode: "read", list, reads, attachments };
}

async function main(send: (r: StoreChildReport) => void): Promise<void> {
  const [mode, path, arg] = process.argv.slice(2);
  if (!mode || !path) throw new Error("usage: lmdb-store-child <mode> <path> [arg]");
  const store = await openLmdbStore({ path, limits: { inboxMaxPending: 1_000_000, attachmentMaxBytes: 1 << 30 } });
  if (mode === "write") send(await write(store, Number(arg)));
  else if (mode === "read") send(await read(store, JSON.parse(arg ?? "[]") as WrittenAttachment[]));
  else if (mode === "upload-forever") {
    let told = false;
    const source = patternSource(1, Number.MAX_SAFE_INTEGER, {
      onPiece: (produced) => {
        if (!told && produced >= 3 * 1024 * 1024) {
          told = true;
          send({ mode: "progress", produced });
        }
      },
    });
    // Never resolves: the parent kills this process mid-upload.
    await store.putAttachment({ name: "endless", mime: "application/octet-stream", owner: "w9", conv: "p2p:w9 hub" }, source);
  } else throw new Error(`unknown mode ${mode}`);
  await store.close();
}

// node --test may load every compiled file under test/; only act when forked by the test.
const send = process.send?.bind(process);
if (send) {
  main((r) => send(r)).then(
    () => process.disconnect(),
    (err: unknown) => {
      process.stderr.write(`lmdb-store-child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
