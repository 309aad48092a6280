/**
 * Who talks to whom in the p2p scenario. Clients log in through the gateway, which decides where
 * each one lands (as for real clients); pairs are formed afterwards from those placements, so
 * `same` and `cross` measure the local and the routed delivery paths without the tool bypassing
 * the gateway. Pure and seeded, so a run can be repeated.
 */
import type { Pairing } from "./options.js";

export interface Pairs {
  /** partner[i] is the index client i sends to (and receives from). */
  partner: number[];
  sameServer: number;
  crossServer: number;
}

/** `servers[i]` is the msg_server client i landed on; the count must be even. */
export function pairClients(servers: readonly string[], how: Pairing, seed: number): Pairs {
  if (servers.length % 2 !== 0) throw new Error("pairing needs an even number of clients");
  const order = how === "random" ? shuffled(servers.length, seed) : how === "same" ? grouped(servers) : interleaved(servers);
  const partner = new Array<number>(servers.length).fill(-1);
  let sameServer = 0;
  for (let k = 0; k < order.length; k += 2) {
    const a = order[k]!;
    const b = order[k + 1]!;
    partner[a] = b;
    partner[b] = a;
    if (servers[a] === servers[b]) sameServer++;
  }
  return { partner, sameServer, crossServer: order.length / 2 - sameServer };
}

function groups(servers: readonly string[]): number[][] {
  const by = new Map<string, number[]>();
  servers.forEach((s, i) => {
    const g = by.get(s);
    if (g) g.push(i);
    else by.set(s, [i]);
  });
  return [...by.keys()].sort().map((k) => by.get(k)!);
}

/** Each server's clients together; an odd one out of each group is paired across at the end. */
function grouped(servers: readonly string[]): number[] {
  const order: number[] = [];
  const odd: number[] = [];
  for (const g of groups(servers)) {
    const even = g.length - (g.length % 2);
    order.push(...g.slice(0, even));
    if (even < g.length) odd.push(g[even]!);
  }
  return order.concat(odd);
}

/** One client of each server in turn (A1 B1 A2 B2 ...): consecutive clients sit on different servers while groups last. */
function interleaved(servers: readonly string[]): number[] {
  const gs = groups(servers);
  const order: number[] = [];
  for (let i = 0; order.length < servers.length; i++) {
    for (const g of gs) if (i < g.length) order.push(g[i]!);
  }
  return order;
}

/** Fisher-Yates with mulberry32: small, seeded, good enough to place clients. */
function shuffled(n: number, seed: number): number[] {
  let st = seed >>> 0;
  const rand = () => {
    st = (st + 0x6d2b79f5) >>> 0;
    let t = st;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
