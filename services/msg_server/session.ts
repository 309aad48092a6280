import type { Connection } from "../../shared/net/connection.js";
import type { SessionLocation } from "../../shared/bus/session-directory.js";
import type { StoredMessage } from "../../shared/store/store.js";
import type { SendLimiter } from "../../shared/limits/send-limiter.js";
import { Semaphore } from "../../shared/semaphore.js";
import { Serial } from "../../shared/serial.js";
import type { OrderedStream } from "./ordered-stream.js";

/** Per-connection state. A connection is anonymous until it logs in (client) or authenticates (internal link). */
export interface ConnState {
  role: "anon" | "client" | "internal";
  session: Session | null;
  subscriberId: string;
  /** Channels this connection subscribed to (internal links only); null until the first. */
  channels: Set<string> | null;
  /**
   * A login being checked (its token is verified asynchronously): commands pipelined behind it
   * wait for it, in order, instead of finding the connection not logged in yet.
   */
  loginPending: Promise<unknown> | null;
}

export type Conn = Connection<ConnState>;

export function newConnState(): ConnState {
  return { role: "anon", session: null, subscriberId: "", channels: null, loginPending: null };
}

/** One logged-in client on this msg_server. */
export class Session {
  /** Where this session is, with its login time; re-stamped only by SessionTable.claim. */
  loc: SessionLocation;
  /** The recipient's inbox, delivered in inbox-position order. Set once the login sync starts. */
  inbox: OrderedStream<StoredMessage> | null = null;
  /** Topic name -> its stream on this connection; made on the first (see dirtyCursors). */
  get topics(): Map<string, OrderedStream<StoredMessage>> {
    this.topicMap ??= new Map();
    return this.topicMap;
  }
  /** The names of the topics attached here, without making the map. */
  topicNames(): string[] {
    return this.topicMap ? [...this.topicMap.keys()] : [];
  }
  private topicMap: Map<string, OrderedStream<StoredMessage>> | null = null;
  /**
   * Highest topic seq the client acknowledged (or, for v1 packet clients, was written to it), not
   * yet flushed to the store. Made on first use, as `unacked`: an empty Map still holds a hash
   * table of ~200 bytes, and an idle session needs neither (heap snapshot, BENCHMARKS.md).
   */
  get dirtyCursors(): Map<string, number> {
    this.dirty ??= new Map();
    return this.dirty;
  }
  /** The dirty cursors, without making the map when there never were any. */
  get dirtyCursorsIfAny(): ReadonlyMap<string, number> | null {
    return this.dirty;
  }
  private dirty: Map<string, number> | null = null;
  /** Runs this client's order-sensitive commands one after another, in the order it sent them. */
  readonly serial = new Serial();
  /**
   * p2p messages pushed on this connection and not yet acknowledged: uuid -> inbox position, so
   * P2P_ACK can name the position to the store. Bounded by the store's inboxMaxPending. Made on
   * the first push.
   */
  get unacked(): Map<string, number> {
    this.unackedMap ??= new Map();
    return this.unackedMap;
  }
  get unackedCount(): number {
    return this.unackedMap?.size ?? 0;
  }
  private unackedMap: Map<string, number> | null = null;
  /** Set when the session ends, so late async work (a sync in flight) stops touching it. */
  ended = false;
  /** The token the session logged in (or last refreshed) with; null in clientAuth mode "none". */
  token: { exp: number; jti?: string; iat?: number } | null = null;
  /** Whether TOKEN_EXPIRING went out for the current token. */
  expiryNoticeSent = false;
  /** The send rate limiter, made on the first send (most idle sessions never need one). */
  sendLimiter: SendLimiter | null = null;
  private readLimit: Semaphore | null = null;

  constructor(
    readonly clientId: string,
    readonly conn: Conn,
    serverId: string,
    private readonly maxReads = 2,
  ) {
    this.loc = { serverId, connId: conn.id, at: Date.now() };
  }

  /** Store reads (HISTORY) of this session running at once; made on first use. */
  get reads(): Semaphore {
    this.readLimit ??= new Semaphore(this.maxReads);
    return this.readLimit;
  }

  /** v1 packet clients have no topic acknowledgement: a topic message written to them counts as acknowledged. */
  get autoAckTopics(): boolean {
    return this.conn.dialect.autoAckTopics;
  }
}
