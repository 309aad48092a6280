/** The tool's /proc figures (scripts/bench/proc-stats.ts): whole-process and main-thread CPU. */
import assert from "node:assert/strict";
import test from "node:test";
import { Worker } from "node:worker_threads";
import { sampleProc, statCpuSec } from "../../../scripts/bench/proc-stats.js";

test("a stat line is read after the command name, even one holding spaces and parentheses", () => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
  const line = "4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 11 0";
  assert.equal(statCpuSec(line), 3.25);
});

// Work measured in CPU time, not wall time, so a busy CI machine that deschedules us cannot
// shrink it. process.cpuUsage() counts every thread; only the one burning is busy meanwhile.
const BURN = "const u0 = process.cpuUsage(); const cpuMs = () => { const u = process.cpuUsage(u0); return (u.user + u.system) / 1000; }; while (cpuMs() < MS) Math.sqrt(Math.random());";
const burn = (ms: number): void => new Function("MS", BURN)(ms);

test("main-thread CPU counts the event loop's work and not another thread's", { skip: process.platform !== "linux" && "needs /proc (Linux)" }, async () => {
  const a = sampleProc(process.pid)!;
  burn(300);
  const b = sampleProc(process.pid)!;
  assert.ok(b.mainCpuSec - a.mainCpuSec >= 0.2, `main thread: ${b.mainCpuSec - a.mainCpuSec} s after 0.3 s of work`);
  assert.ok(b.cpuSec >= b.mainCpuSec - 0.02, "the process's CPU includes its main thread's (within one tick)");
  // The same work on a worker thread moves the process's figure, not the main thread's.
  const w = new Worker(BURN.replaceAll("MS", "400"), { eval: true });
  await new Promise((resolve) => w.once("exit", resolve));
  const c = sampleProc(process.pid)!;
  assert.ok(c.cpuSec - b.cpuSec >= 0.25, `process: ${c.cpuSec - b.cpuSec} s after 0.4 s on a worker`);
  assert.ok(c.mainCpuSec - b.mainCpuSec < 0.2, `main thread: ${c.mainCpuSec - b.mainCpuSec} s while a worker worked`);
});
