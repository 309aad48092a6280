import type { Connection } from "../../shared/net/connection.js";
import type { SessionLocation } from "../../shared/bus/session-directory.js";
import type { StoredMessage } from "../../shared/store/store.js";
import { Serial } from "../../shared/serial.js";
import type { OrderedStream } from "./ordered-stream.js";

/** Per-connection state. A connection is anonymous until it logs in (client) or authenticates (internal link). */
export interface ConnState {
  role: "anon" | "client" | "internal";
  session: Session | null;
  subscriberId: string;
  channels: Set<string>;
}

export type Conn = Connection<ConnState>;

export function newConnState(): ConnState {
  return { role: "anon", session: null, subscriberId: "", channels: new Set() };
}

/** One logged-in client on this msg_server. */
export class Session {
  readonly loc: SessionLocation;
  /** The recipient's inbox, delivered in inbox-position order. Set once the login sync starts. */
  inbox: OrderedStream<StoredMessage> | null = null;
  /** Topic name -> its stream on this connection. */
  readonly topics = new Map<string, OrderedStream<StoredMessage>>();
  /** Highest topic seq the client acknowledged (or, for v1 packet clients, was written to it), not yet flushed to the store. */
  readonly dirtyCursors = new Map<string, number>();
  /** Runs this client's order-sensitive commands one after another, in the order it sent them. */
  readonly serial = new Serial();
  /**
   * p2p messages pushed on this connection and not yet acknowledged: uuid -> inbox position, so
   * P2P_ACK can name the position to the store. Bounded by the store's inboxMaxPending.
   */
  readonly unacked = new Map<string, number>();
  /** Set when the session ends, so late async work (a sync in flight) stops touching it. */
  ended = false;

  constructor(
    readonly clientId: string,
    readonly conn: Conn,
    serverId: string,
  ) {
    this.loc = { serverId, connId: conn.id };
  }

  /** v1 packet clients have no topic acknowledgement: a topic message written to them counts as acknowledged. */
  get autoAckTopics(): boolean {
    return this.conn.dialect.autoAckTopics;
  }
}
