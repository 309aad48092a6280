/**
 * LMDB commit batches as trace events (see tracer.ts). lmdb-js gathers the write transactions
 * queued during an event turn into one batch and commits it off the main thread; its 'aftercommit'
 * event fires on the main thread once a batch is committed. We count the transaction callbacks
 * queued since the last commit and when the first of them was queued, so each `commit` event says
 * how many writes the batch carried (`writes`) and how long its oldest write waited for the
 * commit (`ms`): the store's share of an acknowledgement's latency.
 *
 * Installed only when tracing is on: it wraps `env.transaction` of that one environment.
 */
import type { RootDatabase } from "lmdb";
import { type Tracer, traceNow } from "./tracer.js";

export function traceLmdbCommits(env: RootDatabase, tracer: Tracer): void {
  let writes = 0;
  let firstQueued = 0;
  const transaction = env.transaction.bind(env);
  (env as { transaction: typeof env.transaction }).transaction = (<T>(fn: () => T) => {
    if (writes === 0) firstQueued = traceNow();
    writes++;
    return transaction(fn);
  }) as typeof env.transaction;
  env.on("aftercommit", (info: { txnId?: number }) => {
    const now = traceNow();
    tracer.emit({ type: "commit", writes, ms: writes > 0 ? Math.round((now - firstQueued) * 1000) / 1000 : 0, txn: info?.txnId ?? -1 }, now);
    writes = 0;
  });
}
