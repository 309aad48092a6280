import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import test from "node:test";
import { readerPids, StallGuard } from "../../../shared/store/lmdb-stall-guard.js";
import { openLmdbStore } from "../../../shared/store/lmdb-store.js";

const LIST = ["\t\tpid\t\t thread\t\t txnid\n", "     30777 7f16a9c56c80 -\n", "     31000 7f16a9c56c81 12\n", "     30777 7f16a9c56c82 -\n"];

test("readerPids reads mdb_reader_list's rows, once per process", () => {
  assert.deepEqual(readerPids(LIST), [30777, 31000]);
  assert.deepEqual(readerPids("(no active readers)\n"), []);
});

test("the guard kills only a stopped process, and only once a write has waited afterMs", async () => {
  const killed: number[] = [];
  const states: Record<number, string> = { 30777: "S", 31000: "T" };
  const g = new StallGuard({ afterMs: 1000, readerList: () => LIST, stateOf: (pid) => states[pid] ?? null, kill: (pid) => killed.push(pid) });
  let release: () => void = () => undefined;
  const write = g.track(new Promise<void>((r) => (release = r)));
  const t0 = Date.now();
  g.check(t0 + 500);
  assert.deepEqual(killed, [], "not before afterMs");
  states[31000] = "R";
  g.check(t0 + 1500);
  assert.deepEqual(killed, [], "a running (slow) process is left alone");
  states[31000] = "T";
  g.check(t0 + 1500);
  assert.deepEqual(killed, [31000], "the stopped one is killed");
  release();
  await write;
  killed.length = 0;
  g.check(t0 + 5000);
  assert.deepEqual(killed, [], "no pending write, no kill");
  g.stop();
});

test("a process stopped while it holds the store's write lock is killed, and our write goes through", { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fc-stall-"));
  const store = await openLmdbStore({ path: dir, limits: { inboxMaxPending: 100 }, stalledWriterKillMs: 300 });
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  // A child that takes the write lock (transactionSync holds it for the callback) and says so, then spins inside it.
  const code = `const {open}=require("lmdb");const db=open({path:${JSON.stringify(dir)}});db.get("x");db.transactionSync(()=>{db.putSync("held",1);process.stdout.write("locked\\n");const end=Date.now()+20000;while(Date.now()<end){}});`;
  const child = spawn(process.execPath, ["-e", code], { cwd: process.cwd(), stdio: ["ignore", "pipe", "inherit"] });
  t.after(() => child.kill("SIGKILL"));
  await new Promise<void>((r) => child.stdout!.on("data", (d: Buffer) => d.toString().includes("locked") && r()));
  child.kill("SIGSTOP");
  const exited = new Promise<NodeJS.Signals | null>((r) => child.once("exit", (_c, sig) => r(sig)));
  const t0 = Date.now();
  await store.upsertClient({ clientId: "after", clientAddr: "", msgServerAddr: "", alive: true, lastSeenMs: 1 });
  const waited = Date.now() - t0;
  assert.equal(await exited, "SIGKILL", "the stopped lock holder was killed");
  assert.ok(waited < 10_000, `our write waited ${waited} ms, not the holder's 20 s`);
  assert.equal((await store.getClient("after"))?.alive, true, "and it is stored");
});
