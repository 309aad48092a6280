import { isIPv4, isIPv6 } from "node:net";

/** Eight 16-bit groups of an IPv6 address ("::" expanded, an IPv4 tail converted), or undefined. */
function ipv6Groups(addr: string): number[] | undefined {
  let s = addr;
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4tail) {
    const b = v4tail[1]!.split(".").map(Number);
    s = `${s.slice(0, -v4tail[1]!.length)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const parse = (h: string | undefined) => (h ? h.split(":").map((g) => Number.parseInt(g, 16)) : []);
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

/**
 * The key a source address is counted under: IPv4 as is ("::ffff:1.2.3.4" is IPv4 too), IPv6
 * cut to its first `ipv6PrefixBits` bits ("2001:db8:0:1:0:0:0:0/64"), so one host cannot take
 * a new identity per address of its prefix. A missing address (socket already gone) is "unknown".
 */
export function addressKey(addr: string | undefined, ipv6PrefixBits = 64): string {
  if (!addr) return "unknown";
  const bare = addr.replace(/%.*$/, ""); // zone id of a link-local address
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare);
  if (mapped) return mapped[1]!;
  if (isIPv4(bare)) return bare;
  if (!isIPv6(bare)) return bare;
  const groups = ipv6Groups(bare);
  if (!groups) return bare;
  let bits = ipv6PrefixBits;
  const masked = groups.map((g) => {
    const keep = Math.max(0, Math.min(16, bits));
    bits -= 16;
    return keep === 0 ? 0 : g & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${masked.map((g) => g.toString(16)).join(":")}/${ipv6PrefixBits}`;
}
