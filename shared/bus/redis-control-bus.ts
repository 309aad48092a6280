import type { Redis } from "ioredis";
import type { Logger } from "../log/logger.js";
import type { RedisKeys } from "./keys.js";
import type { ControlBus, ControlMessage } from "./control-bus.js";
import { decodeControl, encodeControl } from "./control-codec.js";

/**
 * Control messages over Redis pub/sub, one channel per msg_server, each message one line of the
 * line protocol. Publishing uses the shared connection; listening takes a connection of its own
 * (a subscribed connection can do nothing else), which ioredis re-subscribes after a reconnect.
 */
export class RedisControlBus implements ControlBus {
  private sub: Redis | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly log: Logger,
  ) {}

  async send(serverId: string, msg: ControlMessage): Promise<void> {
    await this.redis.publish(this.keys.control(serverId), encodeControl(msg));
  }

  async listen(serverId: string, onMessage: (msg: ControlMessage) => void): Promise<void> {
    const channel = this.keys.control(serverId);
    const sub = (this.sub ??= this.redis.duplicate({ connectionName: `${this.redis.options.connectionName ?? "fishchat"}:sub` }));
    sub.on("error", (err: Error) => this.log.debug({ err }, "control subscriber error"));
    sub.on("message", (ch: string, text: string) => {
      if (ch !== channel) return;
      const msg = decodeControl(text, this.log);
      if (msg) onMessage(msg);
    });
    await sub.subscribe(channel);
  }

  async close(): Promise<void> {
    this.sub?.disconnect();
    this.sub = null;
  }
}
