/**
 * In-process msg_server cores for unit tests: a real MsgServer over memory transports, with a
 * real LMDB store in a temp dir and the in-memory Bus (held to the same conformance suite as
 * Redis). No sockets, no child processes: dispatch and handlers run on the test's own stack.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { memoryBus, type Bus } from "../../shared/bus/bus.js";
import { parseConfig } from "../../shared/config/load-config.js";
import { Connection } from "../../shared/net/connection.js";
import { memoryPair, type MemoryTransport } from "../../shared/net/memory-transport.js";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import { LINE, PACKET } from "../../shared/protocol/codec.js";
import { formatCommand } from "../../shared/protocol/line-codec.js";
import { openLmdbStore } from "../../shared/store/lmdb-store.js";
import type { Store } from "../../shared/store/store.js";
import { msgServerSchema, type MsgServerConfig } from "../../services/msg_server/config.js";
import { MsgServer } from "../../services/msg_server/msg-server.js";
import { ClientAuth } from "../../services/msg_server/client-auth.js";
import { mintToken } from "../../shared/auth/mint.js";
import { captureLogger } from "./log-sink.js";

export const CORE_SECRET = "unit-test-cluster-secret";
/** The HS256 key of the cores' clientAuth ("unit", at least 32 bytes). */
export const CORE_TOKEN_KEY = { kid: "unit", alg: "HS256" as const, secret: "unit-test-token-key-0123456789abcdef" };
export const CORE_CLIENT_AUTH = { mode: "token" as const, keys: [CORE_TOKEN_KEY] };
/** Limits out of the way, for tests that are not about them (they set their own `limits`). */
export const GENEROUS_LIMITS = { loginAttemptsPerAddress: 100_000, maxConnectionsPerAddress: 100_000, sendMessagesPerSec: 1e6, sendBurstMessages: 1e6, sendBytesPerSec: 1e12, sendBurstBytes: 1e12 };

export interface CoreHarness {
  core: MsgServer;
  store: Store;
  bus: Bus;
  logs: ReturnType<typeof captureLogger>;
  /** A line-protocol peer connected to this core. */
  connect(o?: { packet?: boolean }): TestPeer;
  /** A line-protocol peer, logged in with a fresh token. */
  login(id: string): Promise<TestPeer>;
  /** A token for `id` signed with the core's key. */
  token(id: string, ttlSec?: number): Promise<string>;
}

/** Start a core; it is closed (and its store deleted) when the test ends. Cores sharing `bus` and `dataDir` behave like servers of one cluster. */
export async function startCore(t: TestContext, o: { serverId?: string; bus?: Bus; dataDir?: string; conf?: Record<string, unknown> } = {}): Promise<CoreHarness> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), "fc-core-"));
  const cfg: MsgServerConfig = parseConfig(
    "test",
    // Generous per-address limits: every peer of a unit test comes from the same fake address.
    { clusterSecret: CORE_SECRET, store: { dataDir }, clientAuth: CORE_CLIENT_AUTH, limits: GENEROUS_LIMITS, ...o.conf },
    msgServerSchema,
  );
  const store = await openLmdbStore({ path: join(dataDir, "store"), limits: { inboxMaxPending: cfg.store.inboxMaxPending, attachmentMaxBytes: cfg.store.attachmentMaxBytes } });
  const bus = o.bus ?? memoryBus({ sessionTtlMs: cfg.sessionTtlMs });
  const logs = captureLogger("info");
  const serverId = o.serverId ?? "127.0.0.1:19000";
  const auth = await ClientAuth.create(cfg.clientAuth, cfg.limits, bus.revocations, logs.log);
  const core = new MsgServer({ cfg, log: logs.log, store, bus, auth, serverId });
  await auth.start((r) => core.onRevoked(r));
  await bus.control.listen(serverId, (m) => core.onControl(m));
  const peers: TestPeer[] = [];
  t.after(async () => {
    for (const p of peers) p.close();
    await core.close();
    await store.close();
    if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  const connect = (c: { packet?: boolean } = {}) => {
    const [server, client] = memoryPair();
    core.handleTransport(server);
    const peer = new TestPeer(client, c.packet ?? false);
    peers.push(peer);
    return peer;
  };
  return {
    core,
    store,
    bus,
    logs,
    connect,
    token: (id, ttlSec = 3600) => mintToken(cfg.clientAuth, { sub: id, ttlSec }),
    async login(id) {
      const p = connect();
      const r = await p.request(cfg.clientAuth.mode === "token" ? `SEND_CLIENT_ID ${id} ${await mintToken(cfg.clientAuth, { sub: id, ttlSec: 3600 })}` : `SEND_CLIENT_ID ${id}`);
      if (r.name !== Cmd.OK) throw new Error(`login of ${id} failed: ${formatCommand(r)}`);
      return p;
    },
  };
}

/**
 * The test's end of a connection: writes lines (or v1 frames), decodes what comes back, and
 * matches replies to requests in order. Pushes are kept apart from replies.
 */
export class TestPeer {
  readonly received: Command[] = [];
  readonly pushes: Command[] = [];
  closed = false;
  private readonly conn: Connection<null>;
  private readonly waiting: ((c: Command) => void)[] = [];
  private readonly watchers = new Set<() => void>();

  constructor(
    private readonly transport: MemoryTransport,
    packet: boolean,
  ) {
    this.conn = new Connection<null>(transport, {
      limits: { maxLineBytes: 1 << 20, maxFrameBytes: 1 << 20 },
      log: captureLogger("silent").log,
      maxOutboundBytes: 1 << 24,
      maxInflight: 1 << 20,
      dialect: packet ? PACKET : LINE,
      state: null,
      onCommand: (_c, cmd) => this.onCommand(cmd),
      onClose: () => {
        this.closed = true;
        this.notify();
      },
    });
  }

  private onCommand(cmd: Command): void {
    this.received.push(cmd);
    const isReply = cmd.name === Cmd.OK || cmd.name === Cmd.ERR || cmd.name === Cmd.LOCATE_TOPIC_MSG_ADDR;
    if (isReply && this.waiting.length > 0) this.waiting.shift()!(cmd);
    else this.pushes.push(cmd);
    this.notify();
  }

  private notify(): void {
    for (const w of this.watchers) w();
  }

  /** Send one line and resolve with its reply (OK, ERR or a v1 reply). */
  request(line: string): Promise<Command> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.transport.write(`${line}\n`);
    });
  }

  /** Send a command without waiting. */
  send(cmd: Command): void {
    this.conn.send(cmd);
  }

  write(raw: string | Buffer): void {
    this.transport.write(raw);
  }

  /** Resolves once `pred` holds over what was received, or rejects after timeoutMs. */
  until(what: string, pred: () => boolean, timeoutMs = 3000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        clearTimeout(timer);
        clearInterval(poll);
        this.watchers.delete(check);
        resolve();
      };
      // State changes without a message (a login taking effect) are caught by polling too.
      const poll = setInterval(check, 10);
      const timer = setTimeout(() => {
        clearInterval(poll);
        this.watchers.delete(check);
        reject(new Error(`timed out waiting for ${what}; received: ${this.received.map(formatCommand).join("").slice(0, 2000)}`));
      }, timeoutMs);
      this.watchers.add(check);
    });
  }

  pushesNamed(name: string): Command[] {
    return this.pushes.filter((c) => c.name === name);
  }

  close(): void {
    this.conn.destroy();
  }
}
