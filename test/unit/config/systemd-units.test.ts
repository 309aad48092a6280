import test from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SERVICE_NODE_FLAGS } from "../../../shared/runtime-flags.js";

const ROOT = resolve(import.meta.dirname, "../../../..");
const DIR = join(ROOT, "deploy/systemd");
const BINARIES = ["gateway", "msg_server", "router", "manager", "monitor", "api"];
const unitFile = (bin: string) => (bin === "msg_server" ? "fishchat-msg_server@.service" : `fishchat-${bin}.service`);

/** `Key=value` lines by section; repeated keys keep every value, as systemd does. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      current = new Map();
      sections.set(sec[1]!, current);
      continue;
    }
    const i = line.indexOf("=");
    assert.ok(i > 0, `not a Key=value line: ${line}`);
    const key = line.slice(0, i);
    current.set(key, [...(current.get(key) ?? []), line.slice(i + 1)]);
  }
  return sections;
}

test("every service binary has a unit that restarts it on failure, as a dedicated user, hardened", () => {
  for (const bin of BINARIES) {
    const file = unitFile(bin);
    const unit = parseUnit(readFileSync(join(DIR, file), "utf8"));
    const svc = unit.get("Service")!;
    const one = (k: string) => {
      const v = svc.get(k);
      assert.equal(v?.length, 1, `${file}: ${k} once`);
      return v![0]!;
    };
    assert.equal(one("Restart"), "on-failure", file);
    assert.equal(one("RestartPreventExitStatus"), "2", `${file}: a bad conf (exit 2) is not retried`);
    assert.equal(one("User"), "fishchat", file);
    for (const [k, v] of [["NoNewPrivileges", "yes"], ["ProtectSystem", "strict"], ["ProtectHome", "yes"], ["PrivateTmp", "yes"], ["CapabilityBoundingSet", ""]]) {
      assert.equal(one(k!), v, `${file}: ${k}`);
    }
    assert.equal(svc.get("MemoryDenyWriteExecute"), undefined, `${file}: V8's JIT needs W+X pages`);
    // ExecStart runs the shipped bin script with the same node flags as its shebang, on a conf that exists.
    const exec = one("ExecStart").split(" ");
    assert.equal(exec[0], "/usr/bin/node");
    assert.deepEqual(exec.slice(1, 1 + SERVICE_NODE_FLAGS.length), [...SERVICE_NODE_FLAGS]);
    const script = exec[1 + SERVICE_NODE_FLAGS.length]!;
    assert.equal(script, `/opt/fishchat/bin/${bin}.js`);
    assert.ok(existsSync(join(ROOT, "bin", `${bin}.js`)), `bin/${bin}.js exists`);
    const conf = /^-conf_file=\/etc\/fishchat\/(.+)$/.exec(exec.at(-1)!)?.[1];
    assert.ok(conf, `${file}: -conf_file=/etc/fishchat/...`);
    assert.ok(existsSync(join(ROOT, "conf", conf.replace("%i", "19000"))), `${file}: conf/${conf} is shipped as a model`);
    assert.deepEqual(unit.get("Install")?.get("WantedBy"), ["fishchat.target"]);
  }
  const units = readdirSync(DIR).filter((f) => f.endsWith(".service")).sort();
  assert.deepEqual(units, BINARIES.map(unitFile).sort(), "one unit per service binary, no strays");
});

const analyze = spawnSync("systemd-analyze", ["--version"], { encoding: "utf8" });
const haveAnalyze = analyze.status === 0;

test(`systemd-analyze verify accepts the units without a warning${haveAnalyze ? "" : " (skipped: systemd-analyze is not installed)"}`, { skip: !haveAnalyze }, (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fc-units-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of readdirSync(DIR).filter((f) => /\.(service|target)$/.test(f))) copyFileSync(join(DIR, f), join(dir, f));
  const names = ["fishchat-gateway.service", "fishchat-msg_server@19000.service", "fishchat-router.service", "fishchat-manager.service", "fishchat-monitor.service", "fishchat.target"];
  const r = spawnSync("systemd-analyze", ["verify", "--man=no", ...names], { cwd: dir, encoding: "utf8", timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  // Unknown or misspelt keys are only warnings for systemd, so any output fails the test.
  assert.equal(r.stderr.trim(), "", r.stderr);
});
