/** Display formatting; every number on the page goes through here so units stay consistent. */

export function int(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Rates: one decimal under 10/s, whole numbers above, k/M suffixes past 10 000. */
export function rate(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  if (n >= 10) return int(n);
  return n === 0 ? "0" : n.toFixed(1);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  let v = n;
  let u = 0;
  while (v >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${BYTE_UNITS[u]}`;
}

/** "3 d 4 h", "2 h 14 m", "5 m 03 s", "42 s". */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "–";
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${m} m`;
  if (m > 0) return `${m} m ${String(sec).padStart(2, "0")} s`;
  return `${sec} s`;
}

/** "0.4 s ago" under a minute (heartbeats are sub-second), else a coarser duration. */
export function ago(now: number, t: number | null): string {
  if (t === null) return "never";
  const ms = Math.max(0, now - t);
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s ago`;
  return `${duration(ms)} ago`;
}

/** An age the monitor measured itself: "0.4 s ago", "3 m 05 s ago", "never" for null. */
export function since(ageMs: number | null): string {
  return ageMs === null ? "never" : ago(ageMs, 0);
}

export function clock(t: number): string {
  return new Date(t).toLocaleTimeString("en-GB", { hour12: false });
}

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "–";
  return `${n < 10 ? n.toFixed(1) : int(n)} ms`;
}

/** "1 session", "4 sessions", "1,200 client connections": a count with its noun in the right number. */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${int(n)} ${Math.round(n) === 1 ? one : many}`;
}
