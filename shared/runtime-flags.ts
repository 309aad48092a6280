/**
 * Node flags every FishChat service runs with. A 64 MiB young generation (the default is 16 MiB
 * per semi-space) makes the scavenger run a quarter as often on the allocation-heavy message
 * path: +13% p2p throughput in BENCHMARKS.md. V8 reads it only at start-up, so it must be on the
 * command line: the bin/ scripts carry it in their shebang, and dev-cluster and the test harness
 * pass it when they spawn services.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64"];
