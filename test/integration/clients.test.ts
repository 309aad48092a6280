import test, { type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startCluster, TEST_CLIENT_AUTH, type Cluster } from "../support/cluster.js";
import { freePorts, waitFor } from "../support/ports.js";

const DIST = resolve(import.meta.dirname, "../..");
const BIN = { p2p: join(DIST, "services/client_p2p/main.js"), topic: join(DIST, "services/client_topic/main.js") };

/** One client process; stdout and stderr are collected as they come. */
class Cli {
  readonly proc: ChildProcess;
  stdout = "";
  stderr = "";
  code: number | null = null;
  readonly exited: Promise<number>;

  constructor(t: TestContext, which: keyof typeof BIN, args: string[], stdin: "pipe" | "ignore" = "ignore") {
    this.proc = spawn(process.execPath, [BIN[which], ...args], { stdio: [stdin, "pipe", "pipe"] });
    this.proc.stdout!.setEncoding("utf8").on("data", (s: string) => (this.stdout += s));
    this.proc.stderr!.setEncoding("utf8").on("data", (s: string) => (this.stderr += s));
    this.exited = new Promise((r) => this.proc.once("exit", (code, signal) => r((this.code = code ?? (signal ? 128 : -1)))));
    t.after(() => {
      if (this.code === null) this.proc.kill("SIGKILL");
    });
  }

  get lines(): string[] {
    return this.stdout.split("\n").filter((l) => l !== "");
  }

  /** The first stdout line matching re; fails early if the process exits without printing it. */
  async line(re: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    return waitFor(`${re} in client output`, () => {
      const m = this.lines.map((l) => re.exec(l)).find((x) => x !== null);
      if (m) return m;
      if (this.code !== null) throw new Error(`exited ${this.code} without ${re}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      return null;
    }, timeoutMs, 25);
  }

  write(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  end(): void {
    this.proc.stdin!.end();
  }

  async exit(timeoutMs = 30_000): Promise<number> {
    const timer = new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`client did not exit\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)), timeoutMs).unref());
    return Promise.race([this.exited, timer]);
  }
}

/** Run a client to completion. */
async function run(t: TestContext, which: keyof typeof BIN, args: string[], input?: string): Promise<Cli> {
  const c = new Cli(t, which, args, input === undefined ? "ignore" : "pipe");
  if (input !== undefined) {
    c.proc.stdin!.end(input);
  }
  await c.exit();
  return c;
}

function writeClientConf(cl: Cluster): string {
  const f = join(cl.dir, "client.json");
  writeFileSync(f, JSON.stringify({ gatewayServer: cl.gateway!.addr, heartbeatMs: 2000, reconnectMinMs: 100, reconnectMaxMs: 1000, connectTimeoutMs: 10_000 }));
  return f;
}

/** Indexes of the expected lines, in order, each found after the previous one. */
function assertInOrder(lines: string[], expected: (string | RegExp)[]): void {
  let from = 0;
  for (const e of expected) {
    const i = lines.findIndex((l, k) => k >= from && (typeof e === "string" ? l === e : e.test(l)));
    assert.ok(i >= 0, `expected ${String(e)} after line ${from} in:\n${lines.join("\n")}`);
    from = i + 1;
  }
}

test("client config and flags: errors name the key and exit 2", { timeout: 30_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fc-clients-"));
  const conf = (name: string, body: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, JSON.stringify(body));
    return f;
  };
  const unknown = await run(t, "p2p", [`-conf_file=${conf("unknown.json", { gatewayServer: "127.0.0.1:1", bogusKey: true })}`, "--id", "x"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown key "bogusKey"/);

  const wrongType = await run(t, "topic", ["-conf_file", conf("type.json", { heartbeatMs: "fast" }), "--id", "x"]);
  assert.equal(wrongType.code, 2);
  assert.match(wrongType.stderr, /key "heartbeatMs"/);

  const v1File = conf("v1.json", { GatewayServer: "127.0.0.1:17000", HeartBeatTime: 20, Expire: 1 });
  const v1Key = await run(t, "topic", ["--conf_file", v1File, "--id", "x"]);
  assert.equal(v1Key.code, 2);
  // Every problem, one line each.
  assert.deepEqual(v1Key.stderr.trim().split("\n"), [
    `client_topic: IM_ERR_CONFIG ${v1File}: unknown key "GatewayServer" (FishChatServer v1 key; use gatewayServer)`,
    `client_topic: IM_ERR_CONFIG ${v1File}: unknown key "HeartBeatTime" (FishChatServer v1 key; use heartbeatMs)`,
    `client_topic: IM_ERR_CONFIG ${v1File}: unknown key "Expire" (FishChatServer v1 key; use nothing (v1's Expire had no effect))`,
  ]);

  const missing = await run(t, "p2p", [`-conf_file=${join(dir, "nope.json")}`, "--id", "x"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.json: cannot read config file/);

  const badFlag = await run(t, "p2p", ["--no-such-flag"]);
  assert.equal(badFlag.code, 2);

  // The first login gives up only once connectTimeoutMs has passed, and says so truly.
  const [closed] = (await freePorts(1)) as [number];
  const slow = conf("slow.json", { gatewayServer: `127.0.0.1:${closed}`, connectTimeoutMs: 2500, reconnectMinMs: 300, reconnectMaxMs: 2000 });
  const began = Date.now();
  const noLogin = await run(t, "p2p", [`-conf_file=${slow}`, "--id", "x", "--send", "y hi"]);
  const took = Date.now() - began;
  assert.equal(noLogin.code, 1);
  assert.match(noLogin.stderr, /^error IM_ERR_UNAVAILABLE could not log in within 2500 ms \(\d+ attempts in (\d+) ms\): /m);
  const said = Number(/attempts in (\d+) ms/.exec(noLogin.stderr)![1]);
  assert.ok(said >= 2500 && took >= 2500, `gave up after ${said} ms (process ran ${took} ms)`);
  assert.ok(said < 4000, `not much later either: ${said} ms`);

  const help = await run(t, "topic", ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /\/create <topic>/);
  const version = await run(t, "p2p", ["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test("terminal clients against a real cluster", { timeout: 240_000 }, async (t) => {
  const cl = await startCluster(t, { msgServers: 2 });
  const conf = `-conf_file=${writeClientConf(cl)}`;
  // The clients mint their own tokens from a conf holding the cluster's key (--dev-token), as in the development cluster.
  const tokConf = join(mkdtempSync(join(tmpdir(), "fc-tok-")), "msg_server.json");
  writeFileSync(tokConf, JSON.stringify({ clientAuth: TEST_CLIENT_AUTH }));
  const tok = ["--dev-token", tokConf];
  const other = (addr: string) => cl.msgServers.find((m) => m.addr !== addr)!.addr;

  await t.test("client_p2p: flags send to another process, which prints, acks and exits", { timeout: 60_000 }, async (t) => {
    const bob = new Cli(t, "p2p", [conf, ...tok, "--id", "bob1", "--expect", "2", "--wait-ms", "20000"]);
    await bob.line(/^connected to \S+ as bob1$/);
    const alice = await run(t, "p2p", [conf, ...tok, "--id", "alice1", "--send", "bob1 hello world", "--send", "bob1 second  message"]);
    assert.equal(alice.code, 0, alice.stderr);
    assertInOrder(alice.lines, [/^connected to /, /^sent to bob1 seq \d+ uuid [0-9a-f-]{36}$/, /^sent to bob1 seq \d+ uuid /]);
    assert.equal(await bob.exit(), 0, bob.stderr);
    assert.deepEqual(bob.lines.filter((l) => l.includes(" says : ")), ["alice1 says : hello world", "alice1 says : second  message"]);
    // Both were acknowledged: logging in again delivers nothing.
    const again = await run(t, "p2p", [conf, ...tok, "--id", "bob1", "--wait-ms", "700"]);
    assert.equal(again.code, 0);
    assert.equal(again.lines.filter((l) => l.includes(" says : ")).length, 0, again.stdout);
  });

  await t.test("client_p2p: piped stdin, :olu and :history; errors exit 1", { timeout: 60_000 }, async (t) => {
    const bob = new Cli(t, "p2p", [conf, ...tok, "--id", "bob2", "--expect", "1", "--wait-ms", "20000"]);
    await bob.line(/^connected to /);
    const carol = await run(t, "p2p", [conf, ...tok], "carol2\n:olu\nbob2 via a pipe,  with spaces\n:history bob2\n");
    assert.equal(carol.code, 0, carol.stderr);
    assertInOrder(carol.lines, [
      "input my id :",
      /^connected to \S+ as carol2$/,
      /^online( \S+)*$/,
      /^sent to bob2 seq 1 uuid /,
      "history bob2 1 carol2 says : via a pipe,  with spaces",
      "history bob2 end 1 1",
    ]);
    const online = carol.lines.find((l) => l.startsWith("online"))!.split(" ").slice(1);
    assert.ok(online.includes("bob2") && online.includes("carol2"), `online: ${online.join(",")}`);
    assert.equal(await bob.exit(), 0, bob.stderr);
    assert.ok(bob.lines.includes("carol2 says : via a pipe,  with spaces"), bob.stdout);

    const bad = await run(t, "p2p", [conf, ...tok, "--id", "carol2"], ":nonsense\nbob2\n");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error IM_ERR_UNKNOWN_COMMAND /m);
    assert.match(bad.stderr, /^error IM_ERR_BAD_ARGS usage: <id> <message text>/m);
  });

  await t.test("client_p2p: a second login with the same id kicks the first, which exits 3", { timeout: 60_000 }, async (t) => {
    const first = new Cli(t, "p2p", [conf, ...tok, "--id", "kick3", "--wait-ms", "30000"]);
    await first.line(/^connected to /);
    const second = await run(t, "p2p", [conf, ...tok, "--id", "kick3", "--wait-ms", "200"]);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await first.exit(), 3);
    assert.match(first.stderr, /^error IM_ERR_KICKED /m);
    assert.ok(!first.stdout.includes("reconnect"), first.stdout);
  });

  await t.test("client_topic: create, join, send and receive across two msg_servers", { timeout: 60_000 }, async (t) => {
    const alice = new Cli(t, "topic", [conf, ...tok, "--id", "alice4"], "pipe");
    alice.write("/create room4");
    const [, aliceAddr] = (await alice.line(/^connected to (\S+) as alice4$/)) as unknown as [string, string];
    await alice.line(/^created room4$/);
    const bobAddr = other(aliceAddr);
    const bob = new Cli(t, "topic", [conf, ...tok, "--server", bobAddr, "--id", "bob4"], "pipe");
    bob.write("/join room4");
    await bob.line(new RegExp(`^joined room4 at ${bobAddr}$`));
    alice.write("/send room4 hello from alice, with  spaces");
    await bob.line(/^\[room4\] alice4 says : hello from alice, with {2}spaces$/);
    bob.write("hi back from bob");
    await alice.line(/^\[room4\] bob4 says : hi back from bob$/);
    alice.write("/members room4");
    alice.write("/mine");
    await alice.line(/^mine /);
    alice.end();
    bob.write("/quit room4");
    bob.end();
    assert.equal(await alice.exit(), 0, alice.stderr);
    assert.equal(await bob.exit(), 0, bob.stderr);
    assert.notEqual(aliceAddr, bobAddr);
    assert.ok(alice.lines.includes("members room4 alice4 bob4"), alice.stdout);
    assert.ok(alice.lines.includes("mine room4"), alice.stdout);
    assert.ok(bob.lines.includes("left room4"), bob.stdout);
    // Alice sees her own message too (as in v1), once.
    assert.equal(alice.lines.filter((l) => l === "[room4] alice4 says : hello from alice, with  spaces").length, 1);
  });

  await t.test("client_topic: /commands by default; v1's answers without --v1 get a hint", { timeout: 60_000 }, async (t) => {
    const r = await run(t, "topic", [conf, ...tok, "--id", "carol7"], "y\n/create room7\n/send room7 hi\n");
    assert.equal(r.code, 1, "the stray y failed");
    assert.match(r.stderr, /^error IM_ERR_BAD_ARGS no current topic: .*v1's question-and-answer flow needs --v1$/m);
    assertInOrder(r.lines, [/^connected to /, "created room7", "[room7] carol7 says : hi"]);
    assert.ok(!r.stdout.includes("want to create a topic"), r.stdout);
  });

  await t.test("client_topic: v1's question-and-answer flow through stdin (--v1)", { timeout: 60_000 }, async (t) => {
    const alice = new Cli(t, "topic", [conf, ...tok, "--v1"], "pipe");
    for (const answer of ["alice5", "y", "qa5", "qa5", "alice5"]) alice.write(answer);
    const [, addr] = (await alice.line(/^LOCATE_TOPIC_MSG_ADDR (\S+) qa5$/)) as unknown as [string, string];
    assert.ok(cl.msgServers.some((m) => m.addr === addr), addr);
    const bob = new Cli(t, "topic", [conf, ...tok, "--id", "bob5", "--join", "qa5", "--expect", "1", "--wait-ms", "20000"]);
    await bob.line(/^joined qa5 at /);
    alice.write("hello from the v1 flow");
    alice.end();
    assert.equal(await alice.exit(), 0, alice.stderr);
    assert.equal(await bob.exit(), 0, bob.stderr);
    assertInOrder(alice.lines, [
      "input my id :",
      /^connected to \S+ as alice5$/,
      "want to create a topic (y/n) :",
      "CREATE_TOPIC_CMD | input topic name :",
      "created qa5",
      "JOIN_TOPIC_CMD | input topic name :",
      "JOIN_TOPIC_CMD | input your ID :",
      `LOCATE_TOPIC_MSG_ADDR ${addr} qa5`,
      "input topic msg :",
      /^sent to qa5 seq 1 uuid /,
    ]);
    assert.ok(bob.lines.includes("[qa5] alice5 says : hello from the v1 flow"), bob.stdout);

    // --v1 as a FishChatServer v1 client (packet codec): no replies, the LOCATE frame and the echo only.
    const v1 = await run(t, "topic", [conf, ...tok, "--v1", "--codec", "packet", "--wait-ms", "1500"], "carol5\nn\nqa5\ncarol5\nfrom a packet client\n");
    assert.equal(v1.code, 0, v1.stderr);
    assertInOrder(v1.lines, ["want to create a topic (y/n) :", "JOIN_TOPIC_CMD | input topic name :", /^LOCATE_TOPIC_MSG_ADDR \S+ qa5$/, "input topic msg :", "sent to qa5", "[qa5] carol5 says : from a packet client"]);
  });

  // Last: it kills a msg_server.
  await t.test("client_p2p: logs in again through the gateway after its msg_server is SIGKILLed", { timeout: 60_000 }, async (t) => {
    const bob = new Cli(t, "p2p", [conf, ...tok, "--id", "bob6", "--expect", "1", "--wait-ms", "40000"]);
    const [, before] = (await bob.line(/^connected to (\S+) as bob6$/)) as unknown as [string, string];
    const victim = cl.msgServers.find((m) => m.addr === before)!;
    await victim.kill("SIGKILL");
    await bob.line(/^reconnecting in \d+ ms \(/);
    const [, after] = (await bob.line(/^reconnected to (\S+) as bob6$/)) as unknown as [string, string];
    assert.equal(after, other(before));
    const alice = await run(t, "p2p", [conf, ...tok, "--id", "alice6", "--send", "bob6 sent after the crash"]);
    assert.equal(alice.code, 0, alice.stderr);
    assert.equal(await bob.exit(), 0, bob.stderr);
    assert.ok(bob.lines.includes("alice6 says : sent after the crash"), bob.stdout);
  });
});
