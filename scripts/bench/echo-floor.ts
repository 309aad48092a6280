/**
 * The floor a Node.js server pays per message on this machine, before any of FishChat's work:
 * a TCP server that answers every line with two writes (an OK and a push, as a msg_server does
 * for a p2p send), fed at a paced rate by 100 clients. It prints the server's CPU per message,
 * so a figure like "554 µs of msg_server CPU per message at 1,000 msg/s" can be read against
 * what one wake-up, one read and two socket writes cost here (BENCHMARKS.md, light load).
 *
 *   node dist/scripts/bench/echo-floor.js [--rate 1000] [--seconds 10]
 */
import { fork } from "node:child_process";
import { createConnection, createServer, type Socket } from "node:net";
import { parseArgs } from "node:util";
import { sampleProc } from "./proc-stats.js";

const CLIENTS = 100;
const LINE = "SEND_MESSAGE_P2P bob \"hello there, a 64-byte body is what the load tool sends\"\n";

function serve(): void {
  const server = createServer((s) => {
    s.setNoDelay(true);
    s.on("data", (d) => {
      const text = d.toString();
      s.write(`OK ${text}`);
      s.write(`PUSH ${text}`);
    });
    s.on("error", () => s.destroy());
  });
  server.listen(0, "127.0.0.1", () => {
    const addr = server.address();
    if (addr && typeof addr === "object") process.send?.(addr.port);
  });
  process.on("disconnect", () => process.exit(0));
}

async function drive(rate: number, seconds: number): Promise<void> {
  const child = fork(process.argv[1]!, ["--serve"], { stdio: "inherit" });
  const port = await new Promise<number>((resolve) => child.once("message", (m) => resolve(Number(m))));
  const socks: Socket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const s = createConnection(port, "127.0.0.1");
    s.setNoDelay(true);
    s.on("data", () => {});
    socks.push(s);
  }
  await new Promise((r) => setTimeout(r, 500));
  const before = sampleProc(child.pid!);
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((done) => {
    const tick = (): void => {
      const elapsed = performance.now() - t0;
      const due = Math.min(Math.floor((elapsed * rate) / 1000), rate * seconds);
      for (; sent < due; sent++) socks[sent % CLIENTS]!.write(LINE);
      if (sent >= rate * seconds) done();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 200));
  const after = sampleProc(child.pid!);
  for (const s of socks) s.destroy();
  child.disconnect();
  if (!before || !after) throw new Error("no /proc figures for the server (Linux only)");
  const us = ((after.cpuSec - before.cpuSec) * 1e6) / sent;
  process.stdout.write(`echo floor: ${sent} messages at ${rate}/s, server CPU ${(after.cpuSec - before.cpuSec).toFixed(2)} s, ${us.toFixed(0)} µs per message (one read, two writes)\n`);
}

const { values } = parseArgs({ options: { serve: { type: "boolean" }, rate: { type: "string" }, seconds: { type: "string" } } });
if (values.serve) serve();
else {
  drive(Number(values.rate ?? 1000), Number(values.seconds ?? 10)).catch((err: unknown) => {
    process.stderr.write(`echo-floor: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
