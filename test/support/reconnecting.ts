import assert from "node:assert/strict";
import type { FishChatClient } from "../../shared/client/client.js";
import { ReconnectPolicy } from "../../shared/client/reconnect-policy.js";
import type { Command } from "../../shared/protocol/commands.js";
import type { Cluster } from "./cluster.js";
import { sleep, waitFor } from "./ports.js";
import type { Tracker } from "./tracker.js";

/**
 * A client of a fault test that logs in again through the gateway whenever its connection
 * closes, as a real app would, feeding everything it receives to the tracker. It obeys GOAWAY
 * (a draining msg_server): it leaves after the delay, and comes back elsewhere. Retries follow the
 * client library's ReconnectPolicy (backoff 100 .. 500 ms, the server's wait when rate limited).
 */
export async function reconnecting(cl: Cluster, id: string, t: Tracker, via?: string): Promise<{ get: () => FishChatClient; stop: () => void; goaways: number[] }> {
  const goaways: number[] = [];
  const setup = (c: FishChatClient) => {
    t.watch(c);
    c.on("push", (cmd: Command) => {
      if (cmd.name !== "GOAWAY") return;
      goaways.push(Number(cmd.args[0]));
      setTimeout(() => c.close(), Number(cmd.args[0]) || 0);
    });
  };
  let current: FishChatClient = await cl.client(id, { via, heartbeatMs: 500, setup });
  let stopped = false;
  const policy = new ReconnectPolicy(100, 500);
  const watchClose = (c: FishChatClient) =>
    c.once("close", () => {
      const retry = async () => {
        while (!stopped) {
          try {
            current = await cl.client(id, { heartbeatMs: 500, setup });
            policy.reset();
            watchClose(current);
            return;
          } catch (err) {
            await sleep(policy.next(err));
          }
        }
      };
      if (!stopped) void retry();
    });
  watchClose(current);
  return {
    goaways,
    get: () => current,
    stop: () => {
      stopped = true;
      current.close();
    },
  };
}

export async function verify(t: Tracker, expected: number): Promise<void> {
  await waitFor(`all ${expected} acknowledged messages delivered (lost so far: ${t.lost().length})`, () => t.acked.size === expected && t.lost().length === 0, 30_000, 100);
  assert.deepEqual(t.lost(), [], "no acknowledged message lost");
  assert.deepEqual(t.storedTwice(), [], "no message stored twice");
  assert.equal(t.sameConnDuplicates, 0, "no uuid twice on one connection");
  assert.equal(t.reordered(), 0, "sender order kept on every connection");
}

