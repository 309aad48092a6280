import type { Redis } from "ioredis";
import type { Logger } from "../../shared/log/logger.js";
import type { RedisKeys } from "../../shared/bus/keys.js";
import { readRegistry, type RegistryEntry } from "../../shared/bus/registry.js";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import type { Link } from "../../shared/net/link.js";

export interface Beat {
  serverId: string;
  receivedAt: number;
  sessionNum: number;
  stats: Record<string, number>;
}

/**
 * Collects what the cluster says about itself: each msg_server's /sysctrl/monitor beat (v1's
 * `{"SessionNum":N}` plus our counters) and every process's registry heartbeat.
 */
export class Collector {
  readonly beats = new Map<string, Beat>();
  registry: RegistryEntry[] = [];
  registryError: string | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly sampleMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  onCommand(link: Link, cmd: Command): void {
    if (cmd.name !== Cmd.MONITOR_BEAT) return;
    const json = cmd.args[cmd.args.length - 1];
    try {
      const data = JSON.parse(json ?? "{}") as { SessionNum?: number; ServerId?: string; Stats?: Record<string, number> };
      const serverId = data.ServerId ?? link.addr;
      this.beats.set(serverId, { serverId, receivedAt: Date.now(), sessionNum: data.SessionNum ?? 0, stats: data.Stats ?? {} });
    } catch {
      this.log.debug({ from: link.addr }, "bad monitor beat");
    }
  }

  async sample(): Promise<void> {
    try {
      this.registry = await readRegistry(this.redis, this.keys);
      this.registryError = null;
    } catch (err) {
      this.registryError = (err as Error).message;
    }
  }
}
