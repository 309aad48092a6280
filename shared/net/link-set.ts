import type { Logger } from "../log/logger.js";
import type { ProcessRegistry } from "../bus/process-registry.js";
import { Link, type LinkOptions } from "./link.js";
import { tlsClientOptions, type TlsClientConfig } from "./tls-config.js";

export interface LinkSetOptions {
  registry: ProcessRegistry;
  /** Addresses dialled whatever the registry says (v1 `MsgServerList`). */
  seeds: readonly string[];
  discoveryMs: number;
  log: Logger;
  makeLink(addr: string, dialAddr?: string): Link;
  /** Links speak TLS: dial each server's TLS address from the registry; a server without one (or a bare seed) is not dialled. */
  tls?: boolean;
}

/**
 * One Link per msg_server, for every server found in the Redis registry or the seed list. New
 * servers are picked up within discoveryMs, so start-up order does not matter; a registered
 * server that went down keeps its link, which re-dials with backoff until it returns.
 */
export class LinkSet {
  private readonly links = new Map<string, Link>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: LinkSetOptions) {}

  start(): void {
    // Over TLS a seed is only a name: its TLS address comes from the registry.
    if (!this.o.tls) for (const s of this.o.seeds) this.ensure(s);
    void this.discover();
    this.timer = setInterval(() => void this.discover(), this.o.discoveryMs);
    this.timer.unref();
  }

  get(addr: string): Link | undefined {
    return this.links.get(addr);
  }

  all(): Link[] {
    return [...this.links.values()];
  }

  async discover(): Promise<void> {
    try {
      const entries = await this.o.registry.list("msg_server");
      const known = new Set(this.o.seeds);
      for (const e of entries) {
        known.add(e.info.addr);
        if (!e.alive) continue;
        if (!this.o.tls) this.ensure(e.info.addr);
        else if (e.info.tls) this.ensure(e.info.addr, e.info.tls);
        else this.warnNoTls(e.info.addr);
      }
      // A server that left the registry for good (forgotten after an hour down) and is not a seed.
      for (const [addr, link] of this.links) {
        if (!known.has(addr) && !link.isUp) {
          link.stop();
          this.links.delete(addr);
          this.o.log.info({ addr }, "msg_server forgotten");
        }
      }
    } catch (err) {
      this.o.log.debug({ err }, "discovery failed (Redis down?); keeping current links");
    }
  }

  private readonly warned = new Set<string>();

  private warnNoTls(addr: string): void {
    if (this.warned.has(addr)) return;
    this.warned.add(addr);
    this.o.log.warn({ addr }, "links use TLS but this msg_server announces no TLS listener: not linking to it");
  }

  private ensure(addr: string, dialAddr?: string): void {
    const existing = this.links.get(addr);
    if (existing) {
      if (dialAddr && existing.dialAddr !== dialAddr) existing.setDialAddr(dialAddr);
      return;
    }
    const link = this.o.makeLink(addr, dialAddr);
    this.links.set(addr, link);
    this.o.log.info({ addr }, "msg_server discovered");
    link.start();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const l of this.links.values()) l.stop();
    this.links.clear();
  }
}

/** The config keys every service that dials the msg_servers has (shared/config/common.ts linkKeys). */
export interface LinkSetConfig {
  msgServerList: readonly string[];
  discoveryMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  maxLineBytes: number;
  clusterSecret: string;
  id: string;
  /** Links over TLS (shared/config/common.ts linkKeys `linkTls`). */
  linkTls?: TlsClientConfig;
}

/**
 * The LinkSet of router, manager and monitor: one authenticated, subscribed, self-healing Link
 * per msg_server, with the service's handlers.
 */
export function createLinkSet(
  cfg: LinkSetConfig,
  deps: { registry: ProcessRegistry; log: Logger },
  link: Pick<LinkOptions, "channels" | "onCommand" | "onUp" | "onDown">,
): LinkSet {
  const limits = { maxLineBytes: cfg.maxLineBytes, maxFrameBytes: cfg.maxLineBytes };
  const linkTls = cfg.linkTls;
  // Built once at start, so an unreadable CA or key fails the start, not the first dial.
  if (linkTls) tlsClientOptions(linkTls, "127.0.0.1", "linkTls");
  return new LinkSet({
    ...deps,
    seeds: cfg.msgServerList,
    discoveryMs: cfg.discoveryMs,
    tls: linkTls !== undefined,
    makeLink: (addr, dialAddr) =>
      new Link({
        ...link,
        addr,
        dialAddr,
        tls: linkTls ? (host) => tlsClientOptions(linkTls, host, "linkTls") : undefined,
        log: deps.log,
        limits,
        secret: cfg.clusterSecret,
        subscriberId: cfg.id,
        reconnectMinMs: cfg.reconnectMinMs,
        reconnectMaxMs: cfg.reconnectMaxMs,
      }),
  });
}
