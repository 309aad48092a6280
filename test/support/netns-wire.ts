import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";

/** test/support/netem-wire.py in the source tree (this file runs from dist/test/support). */
const WIRE_SCRIPT = resolve(import.meta.dirname, "../../../test/support/netem-wire.py");

export interface WireShape {
  delayMs: number;
  jitterMs: number;
  /** 0..1 */
  loss: number;
}

const TIME = /^(\d+(?:\.\d+)?)(us|usec|ms|msec|s|sec)$/;

function ms(word: string | undefined, spec: string): number {
  const m = TIME.exec(word ?? "");
  if (!m) throw new Error(`netem spec "${spec}": "${word}" is not a time such as 50ms`);
  const n = Number(m[1]);
  const unit = m[2]!;
  return unit.startsWith("u") ? n / 1000 : unit.startsWith("m") ? n : n * 1000;
}

/**
 * The part of netem's syntax the userspace wire implements: `delay TIME [JITTER]` and
 * `loss [random] PCT%`, in any order. Anything else is refused rather than silently ignored.
 */
export function parseWireSpec(spec: string): WireShape {
  const words = spec.trim().split(/\s+/).filter(Boolean);
  const shape: WireShape = { delayMs: 0, jitterMs: 0, loss: 0 };
  for (let i = 0; i < words.length; ) {
    const w = words[i++];
    if (w === "delay") {
      shape.delayMs = ms(words[i++], spec);
      if (TIME.test(words[i] ?? "")) shape.jitterMs = ms(words[i++], spec);
    } else if (w === "loss") {
      if (words[i] === "random") i++;
      const m = /^(\d+(?:\.\d+)?)%$/.exec(words[i++] ?? "");
      if (!m || Number(m[1]) > 100) throw new Error(`netem spec "${spec}": loss needs a percentage such as 1%`);
      shape.loss = Number(m[1]) / 100;
    } else {
      throw new Error(`netem spec "${spec}": "${w}" is not supported by the userspace wire (only delay and loss; this kernel has no sch_netem)`);
    }
  }
  return shape;
}

const line = (s: WireShape) => `${s.delayMs} ${s.jitterMs} ${s.loss}`;

/**
 * One running netem-wire.py between a host's veth peer and its wire link, in the bridge
 * namespace. It stops when its stdin closes, so it cannot outlive the test process.
 */
export class Wire {
  private constructor(private readonly proc: ChildProcess) {}

  static async start(bridgeNs: string, from: string, to: string, shape: WireShape, track: (p: ChildProcess) => void): Promise<Wire> {
    const proc = spawn("ip", ["netns", "exec", bridgeNs, "python3", WIRE_SCRIPT, from, to, ...line(shape).split(" ")], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    track(proc);
    proc.stdin!.on("error", () => undefined);
    let err = "";
    proc.stderr!.on("data", (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    await new Promise<void>((ok, fail) => {
      proc.stdout!.once("data", () => ok());
      proc.once("exit", (code) => fail(new Error(`netem-wire.py exited (${code}): ${err}`)));
      proc.once("error", fail);
    });
    return new Wire(proc);
  }

  update(shape: WireShape): void {
    this.proc.stdin!.write(line(shape) + "\n");
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once("exit", () => r()));
    this.proc.stdin!.end();
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  }
}
