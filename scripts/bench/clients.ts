/**
 * Logging many clients in through the gateway, a bounded number at a time, spread over loopback
 * source addresses. Why several addresses: each (source address, destination) pair has its own
 * ~28k ephemeral ports (net.ipv4.ip_local_port_range), and every login also leaves the gateway's
 * side of a closed connection in TIME_WAIT, so past ~14k logins from 127.0.0.1 connect() fails
 * with EADDRNOTAVAIL. The whole of 127.0.0.0/8 is routed to lo, so 127.0.0.2.. need no set-up.
 */
import { splitHostPort } from "../../shared/config/common.js";
import { type BenchCodec, type BenchConn, loginThroughGateway } from "./bench-conn.js";

/** Connections planned per loopback source address (the default range 32768-60999 has 28,232 ports). */
const CONNECTIONS_PER_SOURCE_IP = 20_000;

/**
 * How many source addresses n connections need. Binding a source address costs connect() a
 * kernel search for a free port, so extra addresses are used only when one address's ephemeral
 * ports towards a msg_server cannot hold every session. `asked` (--source-ips) wins.
 */
export function sourceIpCount(asked: number | null, n: number): number {
  return asked ?? Math.max(1, Math.ceil(n / CONNECTIONS_PER_SOURCE_IP));
}

/** The source address of connection i, or undefined for the system's choice. */
export function sourceAddress(i: number, count: number, target: string): string | undefined {
  if (count <= 1 || !splitHostPort(target).host.startsWith("127.")) return undefined;
  return `127.0.0.${1 + (i % count)}`;
}

/** Run fn(0..n-1) with at most `limit` calls in flight. */
export async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

export interface LoginAllOptions {
  gateway: string;
  codec: BenchCodec;
  concurrency: number;
  sourceIps: number | null;
}

/** Log every id in; any failure aborts (a load run needs every client it planned). */
export async function loginAll(ids: readonly string[], o: LoginAllOptions): Promise<BenchConn[]> {
  const conns = new Array<BenchConn>(ids.length);
  const ips = sourceIpCount(o.sourceIps, ids.length);
  try {
    await pool(ids.length, o.concurrency, async (i) => {
      const c = await loginThroughGateway(o.gateway, ids[i]!, o.codec, sourceAddress(i, ips, o.gateway));
      c.idx = i;
      conns[i] = c;
    });
  } catch (err) {
    for (const c of conns) c?.close();
    throw err;
  }
  return conns;
}

export function closeAll(conns: readonly (BenchConn | undefined)[]): void {
  for (const c of conns) c?.close();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Reject after ms: packet-codec set-up commands that fail get no reply at all. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${what}: no reply within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e as Error);
      },
    );
  });
}
