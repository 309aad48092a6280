import type { Logger } from "../../shared/log/logger.js";
import type { SessionDirectory } from "../../shared/bus/session-directory.js";
import type { ControlBus } from "../../shared/bus/control-bus.js";
import type { Command } from "../../shared/protocol/commands.js";
import type { Store } from "../../shared/store/store.js";
import type { Semaphore } from "../../shared/semaphore.js";
import type { SendLimiter } from "../../shared/limits/send-limiter.js";
import type { ChannelHub } from "./channels.js";
import type { ClientAuth } from "./client-auth.js";
import type { MsgServerConfig } from "./config.js";
import type { P2PDelivery } from "./delivery.js";
import type { Session } from "./session.js";
import type { SessionTable } from "./session-table.js";
import type { MsgServerStats } from "./stats.js";
import type { LocalTopics } from "./topics.js";
import type { Notifier } from "./notices.js";
import type { LoginAdmission } from "./login-admission.js";

/**
 * What command handlers may use: the parts of the msg_server core, named, and nothing else (no
 * sockets, no Redis client). The core (msg-server.ts) implements it; unit tests build a core with
 * an in-memory Bus and a store in a temp dir and drive handlers over memory transports.
 */
export interface HandlerContext {
  readonly cfg: MsgServerConfig;
  /** This server's identity (its advertised address). */
  readonly serverId: string;
  readonly log: Logger;
  readonly store: Store;
  readonly stats: MsgServerStats;
  readonly sessions: SessionTable;
  /** Cluster-wide session directory, for ONLINE_USERS. */
  readonly directory: SessionDirectory;
  readonly channels: ChannelHub;
  readonly topics: LocalTopics;
  readonly p2p: P2PDelivery;
  /** Read receipts, presence, typing, topic member notices: local pushes and relays to other servers. */
  readonly notices: Notifier;
  /** The base URL of this server's HTTP file endpoints (FILES_URL), null without them. */
  readonly filesUrl: string | null;
  /** Who may log in as whom (tokens, revocations, per-address limits). */
  readonly auth: ClientAuth;
  /** Store reads for clients running at once in the whole process. */
  readonly reads: Semaphore;
  /** Logins in progress at once (a reconnect storm is refused with a wait, not taken all at once). */
  readonly admission: LoginAdmission;
  /** After the login reply has gone out: start delivering what the client missed. Settles (never rejects) when the sync has. */
  startSync(session: Session): Promise<void>;
  /** What a new subscriber of `channel` is told first, so it starts from the current state. */
  snapshot(channel: string): Command[];
  /** The counters and gauges a STATS request answers with. */
  statsSnapshot(): Record<string, number>;
  /**
   * The send rate limiter of a user: the same one across its reconnects to this server, so
   * logging in again does not refill the bucket.
   */
  sendLimiterOf(clientId: string): SendLimiter;
  /** Messages to other msg_servers (kicks, removals). */
  readonly control: ControlBus;
  /** A member left a topic by someone else's hand: stop its deliveries here (no-op if not here). */
  memberRemoved(topic: string, clientId: string): void;
  /** A member added by someone else's hand (server API): start its deliveries here after `seq` (no-op if not here). */
  memberAdded(topic: string, clientId: string, seq: number): void;
}
