import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";
import type { Middleware } from "koa";

/**
 * DNS rebinding defence. A page on attacker.example can point that name at 127.0.0.1 and then
 * read this monitor as if it were its own origin; the browser still sends `Host:
 * attacker.example`, so answering only to this monitor's own names closes the hole. Requests a
 * page of another origin sends carry `Origin`, which must name one of them as well.
 */

/** Always accepted: a rebinding page cannot make a browser send these (they are not its own name). */
const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "::1"];
const WILDCARDS = new Set(["0.0.0.0", "::", ""]);

interface Authority {
  host: string;
  /** null when the header names no port. */
  port: number | null;
}

/** "name", "name:port", "[v6]", "[v6]:port" or a bare IPv6 literal; lower-cased, no trailing dot. */
export function parseAuthority(s: string): Authority | null {
  const v = s.trim().toLowerCase();
  if (v === "" || /[\s/@\\]/.test(v)) return null;
  let host: string;
  let port: string | null = null;
  if (v.startsWith("[")) {
    const end = v.indexOf("]");
    if (end < 0) return null;
    host = v.slice(1, end);
    const rest = v.slice(end + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return null;
      port = rest.slice(1);
    }
  } else if (isIP(v) === 6) {
    host = v;
  } else {
    const i = v.lastIndexOf(":");
    host = i < 0 ? v : v.slice(0, i);
    port = i < 0 ? null : v.slice(i + 1);
  }
  host = host.replace(/\.$/, "");
  if (host === "") return null;
  if (port === null) return { host, port: null };
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return null;
  return { host, port: Number(port) };
}

export interface HostPolicy {
  /** True for a Host header this monitor answers to. */
  allowsHost(header: string | undefined): boolean;
  /** True for an Origin header naming one of this monitor's origins. */
  allowsOrigin(header: string): boolean;
  /** The accepted names, for the start-up log. */
  readonly names: readonly string[];
}

/** The machine's own addresses and name: what a client may use to reach a wildcard-bound monitor. */
function machineNames(): string[] {
  const out = [hostname().toLowerCase()];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address.toLowerCase().replace(/%.*$/, ""));
  return out;
}

/**
 * Who the monitor answers to. An entry without a port accepts the Host without one (a reverse
 * proxy on 80/443) or with the monitor's own port; an entry with a port accepts exactly that.
 * `port` is read at each request, since the bound port is only known after listening.
 */
export function hostPolicy(o: { bindHost: string; port: () => number; allowedHosts?: readonly string[] }): HostPolicy {
  const configured = o.allowedHosts ?? (WILDCARDS.has(o.bindHost.replace(/^\[|\]$/g, "")) ? machineNames() : [o.bindHost]);
  const entries = [...LOOPBACK_NAMES, ...configured].map(parseAuthority).filter((a): a is Authority => a !== null);
  const matches = (a: Authority | null): boolean =>
    a !== null && entries.some((e) => e.host === a.host && (e.port === null ? a.port === null || a.port === o.port() : a.port === e.port));
  return {
    names: [...new Set(entries.map((e) => (e.port === null ? e.host : `${e.host}:${e.port}`)))],
    allowsHost: (header) => header !== undefined && matches(parseAuthority(header)),
    allowsOrigin(header) {
      let u: URL;
      try {
        u = new URL(header);
      } catch {
        return false; // "null" (sandboxed frames, file: pages) and garbage
      }
      if (u.protocol !== "http:" && u.protocol !== "https:") return false;
      return matches({ host: u.hostname.replace(/^\[|\]$/g, "").replace(/\.$/, ""), port: u.port === "" ? null : Number(u.port) });
    },
  };
}

/** Paths that answer whatever the Host: they reveal nothing, and load balancers probe them by IP. */
const HOST_EXEMPT = new Set(["/healthz"]);

/** Koa middleware: 421 for a foreign Host, 403 for a foreign Origin, both with a JSON reason. */
export function hostGuard(policy: HostPolicy, log: { debug(obj: object, msg: string): void }): Middleware {
  return async (ctx, next) => {
    if (HOST_EXEMPT.has(ctx.path)) return next();
    const host = ctx.get("host") || undefined;
    if (!policy.allowsHost(host)) {
      log.debug({ host: host?.slice(0, 100) }, "refused a request for a foreign Host");
      ctx.status = 421;
      ctx.set("Cache-Control", "no-store");
      ctx.body = {
        error: "misdirected_request",
        message: `This monitor does not answer to the host name ${JSON.stringify((host ?? "").slice(0, 100))}. If it is one of its names, add it to http.allowedHosts in monitor.json.`,
      };
      return;
    }
    const origin = ctx.get("origin");
    if (origin !== "" && !policy.allowsOrigin(origin)) {
      log.debug({ origin: origin.slice(0, 100) }, "refused a request from a foreign Origin");
      ctx.status = 403;
      ctx.set("Cache-Control", "no-store");
      ctx.body = {
        error: "forbidden_origin",
        message: `Requests from pages of another origin (${JSON.stringify(origin.slice(0, 100))}) are refused. Open the dashboard from the monitor itself; if that origin is the monitor, add its host name to http.allowedHosts.`,
      };
      return;
    }
    await next();
  };
}
