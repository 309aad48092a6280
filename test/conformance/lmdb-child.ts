/**
 * Child process for the multi-process LMDB test (run-lmdb.test.ts): opens the shared store,
 * fires its appendP2P calls in concurrent waves, and reports what it got to the parent over IPC.
 * argv: <store path> <worker index> <messages per worker>.
 */
import { openLmdbStore } from "../../shared/store/lmdb-store.js";
import type { AppendP2PResult } from "../../shared/store/store.js";

const WAVE = 20;

export interface ChildReport {
  results: { seq: number; ipos: number; to: string; uuid: string; duplicate: boolean }[];
}

async function main(send: (msg: ChildReport) => void): Promise<void> {
  const [path, idx, count] = process.argv.slice(2);
  if (!path || !idx || !count) throw new Error("usage: lmdb-child <path> <index> <count>");
  const store = await openLmdbStore({ path, limits: { inboxMaxPending: 1_000_000 } });
  const n = Number(count);
  const results: ChildReport["results"] = [];
  const report = (r: AppendP2PResult) => ({ seq: r.msg.seq, ipos: r.ipos, to: r.msg.to, uuid: r.msg.uuid, duplicate: r.duplicate });
  // Waves of concurrent sends: each wave becomes its own write transaction, so the processes'
  // transactions interleave many times instead of once.
  for (let start = 0; start < n; start += WAVE) {
    const wave: Promise<AppendP2PResult>[] = [];
    for (let i = start; i < Math.min(n, start + WAVE); i++) {
      // Both directions of one conversation: seq allocation is shared, ipos is per recipient.
      const [from, to] = i % 2 ? ["alice", "bob"] : ["bob", "alice"];
      wave.push(store.appendP2P({ uuid: `w${idx}-${i}`, from, to, body: `w${idx} m${i}`, ts: Date.now() }));
    }
    if (start === 0) {
      // Every worker also sends the same (from, cmid): exactly one process may store it.
      wave.push(store.appendP2P({ uuid: `w${idx}-shared`, from: "carol", to: "bob", body: "shared", ts: Date.now(), cmid: "shared" }));
    }
    results.push(...(await Promise.all(wave)).map(report));
  }
  await store.close();
  send({ results });
}

// node --test may load every compiled file under test/; only act when forked by the test.
const send = process.send?.bind(process);
if (send) {
  main((msg) => send(msg)).then(
    () => process.disconnect(),
    (err: unknown) => {
      process.stderr.write(`lmdb-child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
