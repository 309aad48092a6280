import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sweepStaleState, trackDir, trackNetns, untrackDir, untrackNetns } from "./cleanup.js";
import { type Forward, Host, type HostEnv } from "./netns-host.js";
import { NETNS_PREFIX, probeNetns, run, sweepStaleNetns } from "./netns-probe.js";
import { parseWireSpec, Wire } from "./netns-wire.js";

export type { ExecResult, Forward } from "./netns-host.js";
export { Host } from "./netns-host.js";
export { netemAvailable, netnsAvailable, sweepStaleNetns } from "./netns-probe.js";

/** host.forward(port), made once per host and port however often it is asked for. */
export function forwarder(): ((h: Host, port: number) => Promise<Forward>) & { closeAll(): Promise<void> } {
  const forwards = new Map<string, Promise<Forward>>();
  const fwd = (h: Host, port: number) => {
    const k = `${h.name}:${port}`;
    let f = forwards.get(k);
    if (!f) forwards.set(k, (f = h.forward(port)));
    return f;
  };
  return Object.assign(fwd, {
    async closeAll() {
      await Promise.all([...forwards.values()].map(async (f) => (await f).close()));
    },
  });
}

/**
 * Test hosts as Linux network namespaces, all plugged into one bridge that lives in a namespace
 * of its own, so building, faulting and removing a network never touches the root namespace's
 * links, addresses or routes.
 *
 *   [host h1: lo, eth0 10.251.0.1/24] --veth-- p1 \
 *   [host h2: lo, eth0 10.251.0.2/24] --veth-- p2 -- br0   (namespace <prefix>-br)
 *   ...
 *
 * Addresses come from 10.251.0.0/24. They exist only inside these namespaces (no route to or from
 * the root namespace), so they cannot clash with the machine's networks; 10.251/16 was picked as
 * a corner of 10/8 that Docker, libvirt, cloud VPCs and VPNs do not use by default, so that
 * addresses in logs are recognisably the harness's. Two runs at once each have their own bridge.
 *
 * Faults: partition(host) unplugs the host's port from the bridge (every frame to or from it is
 * dropped silently, like `netem loss 100%` both ways, while the host keeps its link and address,
 * so peers see timeouts rather than errors). netem(host, spec) shapes what the host sends, with
 * the kernel's sch_netem when the kernel has it and otherwise with netem-wire.py (userspace, see
 * there), which implements `delay T [J]` and `loss P%`.
 *
 * The test process stays in the root namespace; host.forward() gives it a 127.0.0.1 port that
 * reaches an address from inside a host.
 */

export const SUBNET = "10.251.0.0/24";
const MAX_HOSTS = 250;
const HOST_NAME = /^[a-z][a-z0-9_]{0,15}$/;

export interface NetworkOptions {
  /** A count (hosts h1..hN) or names. */
  hosts: number | readonly string[];
  /** Which netem to use; "auto" (default) prefers the kernel's. */
  netem?: "auto" | "kernel" | "wire";
}

export class Network implements HostEnv {
  readonly hosts: Host[] = [];
  readonly bridgeNs: string;
  private readonly children = new Set<ChildProcess>();
  private readonly forwards = new Set<Forward>();
  private destroyed = false;

  private constructor(
    /** Unique per network: `fcnet-<pid>-<random>`. */
    readonly prefix: string,
    readonly dir: string,
    readonly netemMode: "kernel" | "wire",
  ) {
    this.bridgeNs = `${prefix}-br`;
  }

  static async create(opts: NetworkOptions): Promise<Network> {
    const support = probeNetns();
    if (support.reason) throw new Error(support.reason);
    sweepStaleState();
    sweepStaleNetns();
    const names = typeof opts.hosts === "number" ? Array.from({ length: opts.hosts }, (_, i) => `h${i + 1}`) : [...opts.hosts];
    if (names.length < 1 || names.length > MAX_HOSTS) throw new Error(`between 1 and ${MAX_HOSTS} hosts`);
    for (const n of names) if (!HOST_NAME.test(n) || names.indexOf(n) !== names.lastIndexOf(n)) throw new Error(`bad or repeated host name "${n}"`);
    const want = opts.netem ?? "auto";
    if (want === "kernel" && !support.kernelNetem) throw new Error("this kernel has no sch_netem");
    if (want === "wire" && support.wireReason) throw new Error(support.wireReason);
    const mode = want === "wire" || (want === "auto" && !support.kernelNetem) ? "wire" : "kernel";
    const prefix = `${NETNS_PREFIX}${process.pid}-${randomBytes(3).toString("hex")}`;
    const dir = mkdtempSync(join(tmpdir(), "fc-netns-"));
    trackDir(dir);
    const net = new Network(prefix, dir, mode);
    try {
      await net.build(names);
    } catch (err) {
      await net.destroy();
      throw err;
    }
    return net;
  }

  private async addNs(ns: string): Promise<void> {
    trackNetns(ns);
    await run("ip", ["netns", "add", ns]);
    await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  }

  private br(args: string[]): Promise<string> {
    return run("ip", ["-n", this.bridgeNs, ...args]);
  }

  private async build(names: string[]): Promise<void> {
    await this.addNs(this.bridgeNs);
    // No IPv6 on the bridge's ports: nothing there should answer or send on its own.
    await run("ip", ["netns", "exec", this.bridgeNs, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; true"]);
    await this.br(["link", "add", "br0", "type", "bridge"]);
    await this.br(["link", "set", "br0", "up"]);
    for (const [i, name] of names.entries()) {
      const h = new Host(this, name, `${this.prefix}-${name}`, i + 1, `10.251.0.${i + 1}`);
      this.hosts.push(h);
      await this.addNs(h.ns);
      // Both ends are created in place: no link ever appears in the root namespace.
      await this.br(["link", "add", `p${h.index}`, "type", "veth", "peer", "name", "eth0", "netns", h.ns]);
      await run("ip", ["-n", h.ns, "addr", "add", `${h.addr}/24`, "dev", "eth0"]);
      await run("ip", ["-n", h.ns, "link", "set", "eth0", "up"]);
      await this.br(["link", "set", `p${h.index}`, "master", "br0", "up"]);
    }
  }

  host(name: string): Host {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** @internal */
  addForward(f: Forward): Forward {
    this.forwards.add(f);
    const close = f.close;
    f.close = () => {
      this.forwards.delete(f);
      return close();
    };
    return f;
  }

  /** @internal Remember a child so destroy() kills it. */
  track(p: ChildProcess): ChildProcess {
    if (this.destroyed) {
      p.kill("SIGKILL");
      throw new Error("network destroyed");
    }
    this.children.add(p);
    p.once("exit", () => this.children.delete(p));
    return p;
  }

  /** Attach the host's bridge port as its fault state says (detach before attach: no loops). */
  private async applyPorts(h: Host): Promise<void> {
    const direct = !h.fault.partitioned && !h.fault.wire;
    const viaWire = !h.fault.partitioned && !!h.fault.wire;
    const ports: [string, boolean][] = [[`p${h.index}`, direct]];
    if (h.fault.wirePair) ports.push([`x${h.index}`, viaWire]);
    for (const [dev] of ports.filter(([, on]) => !on)) await this.br(["link", "set", "dev", dev, "nomaster"]);
    for (const [dev] of ports.filter(([, on]) => on)) await this.br(["link", "set", "dev", dev, "master", "br0"]);
  }

  /** Cut the host off the network: all its frames, both ways, are dropped until heal(). */
  async partition(h: Host): Promise<void> {
    h.fault.partitioned = true;
    await this.applyPorts(h);
  }

  async heal(h: Host): Promise<void> {
    h.fault.partitioned = false;
    await this.applyPorts(h);
  }

  /** Shape what `h` sends, e.g. "delay 50ms loss 1%" (replaces an earlier spec). */
  async netem(h: Host, spec: string): Promise<void> {
    if (this.netemMode === "kernel") {
      await run("tc", ["-n", h.ns, "qdisc", "replace", "dev", "eth0", "root", "netem", ...spec.trim().split(/\s+/)]);
      return;
    }
    const shape = parseWireSpec(spec);
    if (h.fault.wire) {
      h.fault.wire.update(shape);
      return;
    }
    if (!h.fault.wirePair) {
      // w<i> is the wire's end; its peer x<i> takes the host's place on the bridge.
      await this.br(["link", "add", `w${h.index}`, "type", "veth", "peer", "name", `x${h.index}`]);
      await this.br(["link", "set", `w${h.index}`, "up"]);
      await this.br(["link", "set", `x${h.index}`, "up"]);
      h.fault.wirePair = true;
    }
    h.fault.wire = await Wire.start(this.bridgeNs, `p${h.index}`, `w${h.index}`, shape, (p) => this.track(p));
    await this.applyPorts(h);
  }

  async clearNetem(h: Host): Promise<void> {
    if (this.netemMode === "kernel") {
      await run("tc", ["-n", h.ns, "qdisc", "del", "dev", "eth0", "root"]).catch(() => undefined);
      return;
    }
    const wire = h.fault.wire;
    if (!wire) return;
    h.fault.wire = null;
    await this.applyPorts(h);
    await wire.stop();
  }

  /** Namespaces this network created (hosts and bridge). */
  namespaces(): string[] {
    return [this.bridgeNs, ...this.hosts.map((h) => h.ns)];
  }

  /**
   * Kill every process started in any of its namespaces, close forwards, delete the namespaces
   * (which deletes every link in them) and the temp dir. Safe to call twice.
   */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.forwards].map((f) => f.close()));
    this.forwards.clear();
    const exits = [...this.children].map((p) => new Promise<void>((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once("exit", () => r()))));
    for (const p of this.children) p.kill("SIGKILL");
    // Anything else in the namespaces (grandchildren) goes too.
    const all = [this.bridgeNs, ...this.hosts.map((h) => h.ns)];
    for (const ns of all) {
      const pids = await run("ip", ["netns", "pids", ns]).catch(() => "");
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try {
          process.kill(Number(pid), "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    await Promise.all(exits);
    for (const ns of all) {
      await run("ip", ["netns", "del", ns]).catch(() => undefined);
      untrackNetns(ns);
    }
    rmSync(this.dir, { recursive: true, force: true });
    untrackDir(this.dir);
  }
}

/** Build a test network; see Network. Throws with netnsAvailable()'s reason where it cannot. */
export function createNetwork(opts: NetworkOptions): Promise<Network> {
  return Network.create(opts);
}
