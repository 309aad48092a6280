import test from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FishChatClient, requestMsgServer, type P2PMessage } from "../../shared/client/client.js";
import { freePorts, portOpen, waitFor } from "../support/ports.js";

const DIST = resolve(import.meta.dirname, "../..");


/** `npm start` (dist/scripts/dev-cluster.js) with conf files on free ports and no Redis running there. */
test("npm start: private redis, every service up, a message flows, SIGTERM stops it all", { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "fc-dev-"));
  const conf = join(dir, "conf");
  mkdirSync(conf);
  const [redis, gw, ms1, ms2, router, manager, monitor, http] = (await freePorts(8)) as [number, number, number, number, number, number, number, number];
  const common = { clusterSecret: "dev-cluster-test-secret", redis: { host: "127.0.0.1", port: redis } };
  const seeds = [`127.0.0.1:${ms1}`, `127.0.0.1:${ms2}`];
  const store = { dataDir: join(dir, "data") };
  const w = (f: string, o: object) => writeFileSync(join(conf, f), JSON.stringify(o));
  w("gateway.json", { ...common, listen: `127.0.0.1:${gw}`, msgServerList: seeds });
  w(`msg_server.${ms1}.json`, { ...common, listen: `127.0.0.1:${ms1}`, advertiseAddr: `127.0.0.1:${ms1}`, store });
  w(`msg_server.${ms2}.json`, { ...common, listen: `127.0.0.1:${ms2}`, advertiseAddr: `127.0.0.1:${ms2}`, store });
  w("router.json", { ...common, listen: `127.0.0.1:${router}`, msgServerList: seeds });
  w("manager.json", { ...common, listen: `127.0.0.1:${manager}`, msgServerList: seeds, store });
  w("monitor.json", { ...common, listen: `127.0.0.1:${monitor}`, msgServerList: seeds, http: { host: "127.0.0.1", port: http } });

  const p = spawn(process.execPath, [join(DIST, "scripts/dev-cluster.js"), "--conf-dir", conf, "--data-dir", join(dir, "data")], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout!.on("data", (b: Buffer) => (out += b.toString()));
  p.stderr!.on("data", (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((r) => p.once("exit", (code) => r(code)));
  try {
    await waitFor("the cluster to report it is running", () => out.includes("FishChat is running."), 45_000);
    assert.match(out, new RegExp(`redis +127\\.0\\.0\\.1:${redis} +\\(started; data in .*AOF on\\)`));
    for (const port of [gw, ms1, ms2, router, manager, monitor]) assert.match(out, new RegExp(`:${port} +up `), `port ${port} reported up`);
    assert.match(out, new RegExp(`dashboard http://127\\.0\\.0\\.1:${http}/`));

    // Give the router its links, then chat across the cluster.
    const alice = new FishChatClient({ heartbeatMs: 0 });
    await alice.connect(await waitFor("gateway answers", () => requestMsgServer(`127.0.0.1:${gw}`).catch(() => null), 15_000));
    await alice.login("alice");
    const got: P2PMessage[] = [];
    const bob = new FishChatClient({ heartbeatMs: 0 });
    bob.on("p2p", (m: P2PMessage) => got.push(m));
    await bob.connect(await requestMsgServer(`127.0.0.1:${gw}`));
    await bob.login("bob");
    await alice.sendP2P("bob", "hello from npm start");
    await waitFor("bob receives", () => got.length === 1, 10_000);
    alice.close();
    bob.close();
  } finally {
    p.kill("SIGTERM");
  }
  assert.equal(await exited, 0);
  assert.match(out, /SIGTERM: stopping FishChat/);
  assert.match(out, /stopped\./);
  for (const port of [redis, gw, ms1, ms2, router, manager, monitor]) assert.equal(await portOpen(port), false, `port ${port} closed`);
});
