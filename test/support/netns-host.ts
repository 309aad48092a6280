import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { connect, createServer, type Socket } from "node:net";
import { join, resolve } from "node:path";
import type { Wire } from "./netns-wire.js";

const FORWARDER = resolve(import.meta.dirname, "ns-forward.js");

/** What a Host needs from its Network. */
export interface HostEnv {
  /** The network's temp dir (forwarder sockets live there). */
  readonly dir: string;
  /** Remember a child so destroy() kills it. */
  track(p: ChildProcess): ChildProcess;
  /** Remember a forward so destroy() closes it. */
  addForward(f: Forward): Forward;
}

export interface Forward {
  host: "127.0.0.1";
  port: number;
  /** "127.0.0.1:<port>" */
  addr: string;
  close(): Promise<void>;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface FaultState {
  partitioned: boolean;
  wire: Wire | null;
  wirePair: boolean;
}

export class Host {
  /** @internal */ readonly fault: FaultState = { partitioned: false, wire: null, wirePair: false };
  private forwarder: Promise<string> | null = null;

  constructor(
    private readonly env: HostEnv,
    readonly name: string,
    /** The namespace's name, for `ip netns exec`. */
    readonly ns: string,
    /** 1-based; the bridge port is p<index>. */
    readonly index: number,
    /** This host's IPv4 address on the test network. */
    readonly addr: string,
  ) {}

  /** Start `cmd` inside this host (killed by destroy()). */
  spawn(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return this.env.track(spawn("ip", ["netns", "exec", this.ns, cmd, ...args], opts));
  }

  /** Run a short command inside this host; resolves with its exit code and output. */
  exec(cmd: string, args: readonly string[] = [], opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    const p = this.spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    p.stdin!.on("error", () => undefined); // the command may exit before reading it
    p.stdin!.end(opts.input ?? "");
    const timer = setTimeout(() => p.kill("SIGKILL"), opts.timeoutMs ?? 10_000);
    return new Promise((ok, fail) => {
      p.once("error", fail);
      p.once("close", (code) => {
        clearTimeout(timer);
        ok({ code, stdout, stderr });
      });
    });
  }

  /**
   * A 127.0.0.1 port in the root namespace whose connections are opened from inside this host
   * to `to` (default: this host's own address, a control view that partitions do not cut).
   */
  async forward(port: number, to: string = this.addr): Promise<Forward> {
    const sock = await (this.forwarder ??= this.startForwarder());
    return this.env.addForward(await listenForward(sock, to, port));
  }

  private async startForwarder(): Promise<string> {
    const sock = join(this.env.dir, `fwd-${this.name}.sock`);
    const p = this.spawn(process.execPath, [FORWARDER, sock], { stdio: ["pipe", "pipe", "inherit"] });
    p.stdin!.on("error", () => undefined);
    await new Promise<void>((ok, fail) => {
      p.stdout!.once("data", () => ok());
      p.once("exit", (code) => fail(new Error(`ns-forward in ${this.name} exited (${code})`)));
    });
    return sock;
  }
}

/**
 * A 127.0.0.1 listener (port 0: bound at once by this process, so there is no race to lose)
 * whose connections go through the forwarder at `sock` to host:port. The forwarder accepts before
 * it reaches the target, so a partitioned target looks like a connection that never answers,
 * as after a real partition: clients need their own timeouts.
 */
export async function listenForward(sock: string, host: string, port: number): Promise<Forward> {
  const sockets = new Set<Socket>();
  const server = createServer((c) => {
    const u = connect(sock);
    sockets.add(c).add(u);
    c.setNoDelay(true);
    u.write(`${host} ${port}\n`);
    c.pipe(u);
    u.pipe(c);
    const end = () => {
      c.destroy();
      u.destroy();
    };
    for (const s of [c, u]) {
      s.once("error", end);
      s.once("close", () => {
        sockets.delete(s);
        end();
      });
    }
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const p = (server.address() as { port: number }).port;
  return {
    host: "127.0.0.1",
    port: p,
    addr: `127.0.0.1:${p}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
