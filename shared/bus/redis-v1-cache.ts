import type { RedisClient } from "./redis.js";
import { v1Keys } from "./keys.js";
import type { V1Cache } from "./v1-cache.js";

// KEYS[1] v1 session key; ARGV[1] msg_server id. Delete only if the cached entry names that server.
const DEL_IF_SERVER = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local ok, obj = pcall(cjson.decode, v)
if ok and obj.MsgServerAddr == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

interface Scripted {
  fcDelIfServer(key: string, server: string): Promise<number>;
}

export class RedisV1Cache implements V1Cache {
  private readonly scripts: Scripted;

  constructor(private readonly redis: RedisClient) {
    redis.defineCommand("fcDelIfServer", { numberOfKeys: 1, lua: DEL_IF_SERVER });
    this.scripts = redis as unknown as Scripted;
  }

  async putSession(clientId: string, value: object, ttlMs: number): Promise<void> {
    await this.redis.set(v1Keys.session(clientId), JSON.stringify(value), "PX", ttlMs);
  }

  async dropSessionIfServer(clientId: string, serverId: string): Promise<boolean> {
    return (await this.scripts.fcDelIfServer(v1Keys.session(clientId), serverId)) === 1;
  }

  async putTopic(name: string, value: object, ttlMs: number): Promise<void> {
    await this.redis.set(v1Keys.topic(name), JSON.stringify(value), "PX", ttlMs);
  }

  async getSession(clientId: string): Promise<Record<string, unknown> | null> {
    return parse(await this.redis.get(v1Keys.session(clientId)));
  }

  async getTopic(name: string): Promise<Record<string, unknown> | null> {
    return parse(await this.redis.get(v1Keys.topic(name)));
  }
}

function parse(v: string | null): Record<string, unknown> | null {
  if (v === null) return null;
  try {
    return JSON.parse(v) as Record<string, unknown>;
  } catch {
    return null;
  }
}
