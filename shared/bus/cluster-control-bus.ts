import type { Cluster } from "ioredis";
import type { Logger } from "../log/logger.js";
import type { RedisKeys } from "./keys.js";
import type { ControlBus, ControlMessage } from "./control-bus.js";
import { decodeControl, encodeControl } from "./control-codec.js";
import { ShardSubscriber, type ShardSubscriberOptions } from "./shard-subscriber.js";

/**
 * Control messages on Redis Cluster over sharded pub/sub (SPUBLISH / SSUBSCRIBE, Redis 7): a
 * message goes to the shard that serves the channel's slot only, instead of being broadcast over
 * the cluster bus to every node as PUBLISH is. Same channel names and line format as the
 * standalone RedisControlBus; the subscriber side is shard-subscriber.ts.
 */
export class ClusterControlBus implements ControlBus {
  private readonly subs: ShardSubscriber[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
    private readonly o: ShardSubscriberOptions,
  ) {}

  async send(serverId: string, msg: ControlMessage): Promise<void> {
    await this.cluster.spublish(this.keys.control(serverId), encodeControl(msg));
  }

  async listen(serverId: string, onMessage: (msg: ControlMessage) => void): Promise<void> {
    const sub = new ShardSubscriber(this.cluster, this.keys.control(serverId), (text) => {
        const msg = decodeControl(text, this.log);
        if (msg) onMessage(msg);
      }, this.o, this.log);
    this.subs.push(sub);
    await sub.ready;
  }

  /** Subscriptions established so far, over all listened channels (tests watch it across a failover). */
  get subscriptions(): number {
    return this.subs.reduce((n, s) => n + s.subscriptions, 0);
  }

  async close(): Promise<void> {
    for (const s of this.subs.splice(0)) s.close();
  }
}
