import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { resolve } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { Redis } from "ioredis";
import { createNetwork, type Host, type Network, netemAvailable, netnsAvailable, sweepStaleNetns } from "../support/netns.js";
import { listNetns } from "../support/netns-probe.js";
import { parseWireSpec } from "../support/netns-wire.js";
import { sleep, waitFor } from "../support/ports.js";

/**
 * The network-namespace harness (test/support/netns.ts) proven on its own: hosts reach each other,
 * faults do what they say, and nothing is left behind, whether the run ends well or not.
 */

const reason = netnsAvailable();
const netemReason = reason ?? netemAvailable();
const NETNS_JS = resolve(import.meta.dirname, "../support/netns.js");

const ECHO = `require("net").createServer((c) => c.pipe(c)).listen(+process.argv[2], process.argv[1], () => console.log("ready"));`;
const UDP_COUNT = `const d = require("dgram").createSocket("udp4"); let n = 0; d.on("message", () => n++);
d.bind(+process.argv[2], process.argv[1], () => console.log("ready"));
process.stdin.on("end", () => { console.log("count " + n); process.exit(0); }); process.stdin.resume();`;
const UDP_SEND = `const d = require("dgram").createSocket("udp4"); let i = 0;
const t = setInterval(() => { d.send("x", +process.argv[2], process.argv[1]); if (++i >= +process.argv[3]) { clearInterval(t); setTimeout(() => d.close(), 200); } }, 1);`;

function untilLine(p: ChildProcess, want: RegExp): Promise<string> {
  return new Promise((ok, fail) => {
    let buf = "";
    p.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      const m = want.exec(buf);
      if (m) ok(m[0]);
    });
    p.once("exit", (code) => fail(new Error(`exited (${code}) before ${want}: ${buf}`)));
  });
}

async function echoServer(h: Host, port = 7000): Promise<void> {
  const p = h.spawn(process.execPath, ["-e", ECHO, h.addr, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  await untilLine(p, /ready/);
}

/** Connect to a forward and collect what comes back. */
function client(port: number): Promise<{ sock: Socket; got: () => string }> {
  return new Promise((ok, fail) => {
    let got = "";
    const sock = connect({ host: "127.0.0.1", port }, () => ok({ sock, got: () => got }));
    sock.setNoDelay(true);
    sock.on("data", (d) => (got += d.toString()));
    sock.once("error", fail);
  });
}

async function medianRttMs(port: number, rounds = 9): Promise<number> {
  const { sock, got } = await client(port);
  const rtts: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const before = got().length;
    const t0 = performance.now();
    sock.write("x");
    await waitFor("echo", () => got().length > before, 5000, 1);
    rtts.push(performance.now() - t0);
  }
  sock.destroy();
  rtts.sort((a, b) => a - b);
  return rtts[Math.floor(rounds / 2)]!;
}

async function udpDelivered(from: Host, to: Host, count: number): Promise<number> {
  const rx = to.spawn(process.execPath, ["-e", UDP_COUNT, to.addr, "7100"], { stdio: ["pipe", "pipe", "inherit"] });
  await untilLine(rx, /ready/);
  const tx = await from.exec(process.execPath, ["-e", UDP_SEND, to.addr, "7100", String(count)]);
  assert.equal(tx.code, 0, tx.stderr);
  await sleep(300); // the last frames may still sit in a delay queue
  const counted = untilLine(rx, /count \d+/);
  rx.stdin!.end();
  return Number((await counted).split(" ")[1]);
}

const rootSnapshot = () => ({
  links: execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" }).split("\n").map((l) => l.split(":")[1]?.trim()).filter(Boolean).sort(),
  addrs: execFileSync("ip", ["-o", "addr", "show"], { encoding: "utf8" }).split("\n").map((l) => l.split(/\s+/).slice(1, 4).join(" ")).sort(),
  routes: execFileSync("ip", ["route", "show"], { encoding: "utf8" }),
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A test that needs namespaces: skipped, with the reason in its name, where they cannot be made. */
function nsTest(name: string, fn: (t: TestContext) => Promise<void>, needs: string | null = reason): void {
  test(needs ? `${name} (skipped: ${needs})` : name, { skip: needs ?? false, timeout: 60_000 }, fn);
}

describe("netns harness", () => {
  test("the userspace wire reads netem's delay/loss syntax and refuses the rest", () => {
    assert.deepEqual(parseWireSpec("delay 50ms loss 1%"), { delayMs: 50, jitterMs: 0, loss: 0.01 });
    assert.deepEqual(parseWireSpec("loss random 100% delay 1s 200ms"), { delayMs: 1000, jitterMs: 200, loss: 1 });
    assert.deepEqual(parseWireSpec("delay 500us"), { delayMs: 0.5, jitterMs: 0, loss: 0 });
    assert.throws(() => parseWireSpec("delay 50"), /not a time/);
    assert.throws(() => parseWireSpec("loss 150%"), /percentage/);
    assert.throws(() => parseWireSpec("duplicate 1%"), /not supported/);
  });

  const withNet = async (t: TestContext, hosts: number | string[]): Promise<Network> => {
    const net = await createNetwork({ hosts });
    t.after(() => net.destroy());
    return net;
  };

  nsTest("two hosts reach each other over TCP; a partition blocks it both ways and heal restores it", async (t) => {
    const net = await withNet(t, 2);
    const [h1, h2] = net.hosts as [Host, Host];
    assert.match(h1.addr, /^10\.251\.0\.\d+$/);
    await echoServer(h2);
    const f = await h1.forward(7000, h2.addr);
    const a = await client(f.port);
    a.sock.write("one");
    await waitFor("echo before the partition", () => a.got() === "one", 5000);

    await net.partition(h2);
    a.sock.write("two"); // on an established connection
    const b = await client(f.port); // a new connection, from h1
    b.sock.write("new");
    await sleep(1500);
    assert.equal(a.got(), "one", "nothing crosses while partitioned");
    assert.equal(b.got(), "", "no new connection while partitioned");

    await net.heal(h2);
    await waitFor("TCP retransmits the held data once healed", () => a.got() === "onetwo", 10_000);
    await waitFor("the new connection completes once healed", () => b.got() === "new", 10_000);
    a.sock.destroy();
    b.sock.destroy();
  });

  nsTest("netem delay adds latency, loss drops packets, clearNetem undoes both", async (t) => {
    const net = await withNet(t, 2);
    const [h1, h2] = net.hosts as [Host, Host];
    t.diagnostic(`netem by: ${net.netemMode}`);
    await echoServer(h2);
    const f = await h1.forward(7000, h2.addr);
    const base = await medianRttMs(f.port);
    assert.ok(base < 20, `baseline RTT ${base.toFixed(2)} ms`);

    await net.netem(h2, "delay 50ms loss 1%");
    const delayed = await medianRttMs(f.port);
    t.diagnostic(`median RTT ${base.toFixed(2)} ms -> ${delayed.toFixed(2)} ms with delay 50ms on h2`);
    assert.ok(delayed >= 48 && delayed < 250, `delayed RTT ${delayed.toFixed(2)} ms`);

    assert.equal(await udpDelivered(h1, h2, 400), 400, "no loss without netem on the sender");
    await net.netem(h1, "loss 30%");
    const got = await udpDelivered(h1, h2, 400);
    t.diagnostic(`${got}/400 datagrams with loss 30%`);
    assert.ok(got >= 200 && got <= 360, `${got}/400 delivered`);

    await net.clearNetem(h1);
    await net.clearNetem(h2);
    assert.equal(await udpDelivered(h1, h2, 400), 400, "no loss after clearNetem");
    const after = await medianRttMs(f.port);
    assert.ok(after < 20, `RTT after clearNetem ${after.toFixed(2)} ms`);
  }, netemReason);

  nsTest("a Redis node runs inside one host, is reached from another, and SIGSTOP/SIGCONT reach it", async (t) => {
    const net = await withNet(t, ["redis", "app"]);
    const [redisHost, app] = net.hosts as [Host, Host];
    const redis = redisHost.spawn("redis-server", ["--bind", redisHost.addr, "--port", "7000", "--save", "", "--appendonly", "no", "--protected-mode", "no"], { stdio: "ignore" });
    await waitFor("redis-server in its namespace", async () => (await app.exec("redis-cli", ["-h", redisHost.addr, "-p", "7000", "ping"])).stdout.trim() === "PONG");
    assert.equal((await app.exec("redis-cli", ["-h", redisHost.addr, "-p", "7000", "set", "where", "netns"])).stdout.trim(), "OK");
    const f = await app.forward(7000, redisHost.addr);
    const r = new Redis({ port: f.port, maxRetriesPerRequest: 1 });
    t.after(() => r.disconnect());
    assert.equal(await r.get("where"), "netns");
    // `ip netns exec` execs: the child's pid is redis-server itself, so signals reach it.
    assert.match(execFileSync("ps", ["-o", "comm=", "-p", String(redis.pid)], { encoding: "utf8" }), /redis-server/);
    redis.kill("SIGSTOP");
    const stopped = await app.exec("redis-cli", ["-h", redisHost.addr, "-p", "7000", "ping"], { timeoutMs: 1000 });
    assert.notEqual(stopped.stdout.trim(), "PONG", "a stopped server does not answer");
    redis.kill("SIGCONT");
    assert.equal(await r.get("where"), "netns");
  });

  nsTest("destroy() removes every namespace, link and process; root namespace untouched", async () => {
    const before = rootSnapshot();
    const net = await createNetwork({ hosts: 3 });
    const names = net.namespaces();
    assert.equal(names.length, 4);
    for (const ns of names) assert.ok(listNetns().includes(ns), ns);
    const h = net.hosts[0]!;
    const sleeper = h.spawn("sleep", ["60"]);
    await net.partition(net.hosts[1]!);
    if (!netemReason) await net.netem(h, "delay 10ms");
    await h.forward(7000, net.hosts[2]!.addr);
    const pid = sleeper.pid!;
    assert.ok(alive(pid));
    await net.destroy();
    assert.deepEqual(listNetns().filter((n) => n.startsWith(net.prefix)), []);
    assert.ok(!alive(pid), "processes in the hosts are killed");
    assert.deepEqual(rootSnapshot(), before);
    await net.destroy(); // twice is fine
  });

  const crashChild = () =>
    spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(process.argv[1]); const n = await m.createNetwork({ hosts: 2 });
         const s = n.hosts[0].spawn("sleep", ["60"]); console.log("up " + n.prefix + " " + s.pid + " " + n.dir); setInterval(() => {}, 1000);`,
        NETNS_JS,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );

  for (const sig of ["SIGTERM", "SIGKILL"] as const) {
    nsTest(`a test process killed by ${sig} leaves no namespace or process behind`, async () => {
      const child = crashChild();
      const [, prefix, pid, dir] = (await untilLine(child, /up \S+ \d+ \S+\n/)).trim().split(" ") as [string, string, string, string];
      assert.ok(existsSync(dir));
      assert.equal(listNetns().filter((n) => n.startsWith(prefix)).length, 3);
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(sig);
      await exited;
      // SIGTERM: the signal handler cleans up before the process ends. SIGKILL: the reaper, within ~1 s.
      await waitFor(`namespaces of ${prefix} removed`, () => listNetns().every((n) => !n.startsWith(prefix)), sig === "SIGTERM" ? 100 : 5000);
      await waitFor("the process inside killed", () => !alive(Number(pid)), 2000);
      await waitFor("its temp dir removed", () => !existsSync(dir), 2000);
    });
  }

  nsTest("the startup sweep removes namespaces of dead runs and leaves live runs' alone", async () => {
    const done = spawn("true");
    await new Promise((r) => done.once("exit", r));
    const stale = `fcnet-${done.pid}-dead-h1`;
    const live = `fcnet-${process.pid}-live-h1`;
    execFileSync("ip", ["netns", "add", stale]);
    execFileSync("ip", ["netns", "add", live]);
    try {
      const inside = spawn("ip", ["netns", "exec", stale, "sleep", "60"], { stdio: "ignore" });
      await waitFor("sleep in the stale namespace", () => execFileSync("ip", ["netns", "pids", stale], { encoding: "utf8" }).trim() !== "");
      const removed = sweepStaleNetns();
      assert.ok(removed.includes(stale));
      assert.ok(!removed.includes(live));
      assert.ok(!listNetns().includes(stale));
      assert.ok(listNetns().includes(live));
      await waitFor("process in the stale namespace killed", () => inside.exitCode !== null || inside.signalCode !== null, 2000);
    } finally {
      execFileSync("ip", ["netns", "del", live]);
      if (listNetns().includes(stale)) execFileSync("ip", ["netns", "del", stale]);
    }
  });
});
