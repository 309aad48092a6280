/** profile-summary.js on a small hand-made .cpuprofile: self time by function, and --callers paths. */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import test from "node:test";

const SUMMARY = resolve(import.meta.dirname, "../../../scripts/bench/profile-summary.js");
const frame = (functionName: string, url = "file:///x/dist/shared/net/connection.js") => ({ functionName, url, lineNumber: 9, scriptId: "1", columnNumber: 0 });

test("profile-summary: self time per function and, with --callers, where a function's time came from", (t) => {
  const dir = mkdtempSync(join(tmpdir(), "fc-prof-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  // root -> flush -> write (3 ms), root -> claim -> write (1 ms), root -> idle (5 ms)
  const profile = {
    nodes: [
      { id: 1, callFrame: frame("(root)", ""), children: [2, 4, 6] },
      { id: 2, callFrame: frame("flush"), children: [3] },
      { id: 3, callFrame: frame("write", "") },
      { id: 4, callFrame: frame("claim", "file:///x/dist/shared/bus/redis-session-directory.js"), children: [5] },
      { id: 5, callFrame: frame("write", "") },
      { id: 6, callFrame: frame("(idle)", "") },
    ],
    startTime: 0,
    endTime: 9000,
    samples: [3, 3, 3, 5, 6, 6, 6, 6, 6],
    timeDeltas: [0, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };
  writeFileSync(join(dir, "msg_server-1.cpuprofile"), JSON.stringify(profile));
  const out = execFileSync(process.execPath, [SUMMARY, dir, "--callers", "write"], { encoding: "utf8" });
  assert.match(out, /msg_server-1.cpuprofile: 0\.00 s busy/);
  assert.match(out, /100\.0%\s+write/);
  assert.match(out, /callers of write: 4 ms of self time/);
  assert.match(out, /^\s+3 ms\s+flush@shared\/net\/connection.js:10 < \(root\)/m);
  assert.match(out, /^\s+1 ms\s+claim@shared\/bus\/redis-session-directory.js:10 < \(root\)/m);
});
