import type { ControlBus, ControlMessage } from "./control-bus.js";

/** Control messages within one process (unit tests); shared by the cores of one test like one Redis. */
export class MemoryControlBus implements ControlBus {
  private readonly listeners = new Map<string, Set<(m: ControlMessage) => void>>();

  async send(serverId: string, msg: ControlMessage): Promise<void> {
    const set = this.listeners.get(serverId);
    if (!set) return;
    // Asynchronous, as pub/sub is: the sender never runs the receiver's code on its own stack.
    for (const fn of set) setImmediate(() => fn(structuredClone(msg)));
  }

  async listen(serverId: string, onMessage: (msg: ControlMessage) => void): Promise<void> {
    let set = this.listeners.get(serverId);
    if (!set) this.listeners.set(serverId, (set = new Set()));
    set.add(onMessage);
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
