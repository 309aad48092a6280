/**
 * Run async tasks one after another, in call order. A failed task does not stop the next one.
 * Used wherever order must survive async work: a session's order-sensitive commands
 * (CREATE_TOPIC then JOIN_TOPIC, as v1's client_topic sends them) and a store's appends to one
 * conversation.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** One Serial per key; different keys run concurrently. Idle keys are forgotten, so the map stays bounded by what is in flight. */
export class KeyedSerial {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
