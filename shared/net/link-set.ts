import type { Logger } from "../log/logger.js";
import type { ProcessRegistry } from "../bus/process-registry.js";
import { Link, type LinkOptions } from "./link.js";

export interface LinkSetOptions {
  registry: ProcessRegistry;
  /** Addresses dialled whatever the registry says (v1 `MsgServerList`). */
  seeds: readonly string[];
  discoveryMs: number;
  log: Logger;
  makeLink(addr: string): Link;
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
    for (const s of this.o.seeds) this.ensure(s);
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
        if (e.alive) this.ensure(e.info.addr);
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

  private ensure(addr: string): void {
    if (this.links.has(addr)) return;
    const link = this.o.makeLink(addr);
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
  return new LinkSet({
    ...deps,
    seeds: cfg.msgServerList,
    discoveryMs: cfg.discoveryMs,
    makeLink: (addr) =>
      new Link({
        ...link,
        addr,
        log: deps.log,
        limits,
        secret: cfg.clusterSecret,
        subscriberId: cfg.id,
        reconnectMinMs: cfg.reconnectMinMs,
        reconnectMaxMs: cfg.reconnectMaxMs,
      }),
  });
}
