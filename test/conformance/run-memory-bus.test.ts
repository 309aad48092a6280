import { memoryBus, type Bus } from "../../shared/bus/bus.js";
import { runBusSuite } from "./bus.suite.js";

const shared = new Map<string, Bus>();

// Buses of one scope share state, as processes share one Redis: hand out the same instance,
// closing it only when the last holder does.
runBusSuite("memory", {
  async open({ sessionTtlMs, scope }) {
    let bus = shared.get(scope);
    if (!bus) shared.set(scope, (bus = memoryBus({ sessionTtlMs })));
    return { ...bus, close: async () => undefined };
  },
});
