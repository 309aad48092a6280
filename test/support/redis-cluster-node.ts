import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { trackProcess } from "./cleanup.js";
import type { Host } from "./netns-host.js";

/**
 * cluster-node-timeout: how long a node may be unreachable before the others mark it failed and
 * its replica starts an election. Redis' default is 15 s, which would make a failover test wait
 * ~17 s; 2000 ms gives a failover in ~3-4 s (timeout + the replica's 0.5-1 s election delay +
 * gossip) while staying well above the pauses a loaded 2-core test machine causes, which at 1 s
 * could fail over a healthy master mid-test.
 */
export const DEFAULT_NODE_TIMEOUT_MS = 2000;
/** Client port of the first node on each namespace host (ports inside a namespace cannot clash). */
const NETNS_BASE_PORT = 7000;

export interface RedisClusterNode {
  /** Position in `nodes` (stable; roles change with failovers). */
  index: number;
  /** Address the cluster members know this node by. */
  host: string;
  port: number;
  busPort: number;
  /** Where the test process connects for admin commands (a forward in namespace mode). */
  reach: { host: string; port: number };
  /** Where client() connects (differs from reach with clientHost). */
  clientReach: { host: string; port: number };
  dir: string;
  id: string;
  netHost: Host | null;
  proc: ChildProcess | null;
  running(): boolean;
}

/** One node per entry: on hosts[i % hosts.length] at 7000, 7001, ... or on 127.0.0.1 at `ports`. */
export function planNodes(base: string, n: number, hosts: readonly Host[], ports: readonly number[]): RedisClusterNode[] {
  const nodes: RedisClusterNode[] = [];
  for (let i = 0; i < n; i++) {
    const netHost = hosts.length ? hosts[i % hosts.length]! : null;
    const port = netHost ? NETNS_BASE_PORT + Math.floor(i / hosts.length) : ports[i]!;
    const busPort = netHost ? port + 10_000 : ports[n + i]!;
    const host = netHost ? netHost.addr : "127.0.0.1";
    const dir = join(base, `node-${i}`);
    mkdirSync(dir);
    const node: RedisClusterNode = {
      index: i,
      host,
      port,
      busPort,
      reach: { host, port },
      clientReach: { host, port },
      dir,
      id: "",
      netHost,
      proc: null,
      running: () => node.proc !== null && node.proc.exitCode === null && node.proc.signalCode === null,
    };
    nodes.push(node);
  }
  return nodes;
}

/** Start (or restart) a node's redis-server. */
export function launchNode(node: RedisClusterNode, nodeTimeoutMs: number): void {
  // The bus port is set explicitly (cluster-port, Redis 7+) rather than left as port+10000,
  // which for a client port above 22767 would land in the ephemeral range.
  const args = [
    "--port", String(node.port), "--bind", node.host, "--dir", node.dir,
    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-port", String(node.busPort),
    "--cluster-node-timeout", String(nodeTimeoutMs),
    // Always let a replica take over, however long since it heard from its master: a test
    // that kills a master must see a failover, not a cluster that stays down.
    "--cluster-replica-validity-factor", "0",
    // A replica's full sync starts at once instead of after the default 5 s wait for more replicas.
    "--repl-diskless-sync-delay", "0",
    "--save", "", "--appendonly", "no", "--logfile", join(node.dir, "redis.log"), "--loglevel", "notice",
    // Inside a namespace the node listens on the host's address, reachable only on the test network.
    ...(node.netHost ? ["--protected-mode", "no"] : []),
  ];
  if (node.netHost) node.proc = node.netHost.spawn("redis-server", args, { stdio: "ignore" });
  else {
    node.proc = spawn("redis-server", args, { stdio: "ignore" });
    trackProcess(node.proc);
  }
}

export function readLog(node: RedisClusterNode): string {
  try {
    return readFileSync(join(node.dir, "redis.log"), "utf8").slice(-2000);
  } catch {
    return "(no log)";
  }
}

export function execLocal(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    execFile(cmd, args, { timeout: 30_000, encoding: "utf8" }, (err, stdout, stderr) => {
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
