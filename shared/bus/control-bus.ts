import type { Control } from "../protocol/envelope.js";

/** Messages one msg_server sends another through Redis rather than a link (they have none to each other). */
export type ControlMessage = Control;

/**
 * Point-to-point control messages between msg_servers (today: close the older connection of a
 * client that logged in again elsewhere). Best effort, as Redis pub/sub is: a server that is
 * down or partitioned misses them, and the session refresh repairs what that leaves (the older
 * server finds its entry taken and closes the session). Implementations: redis-control-bus.ts,
 * memory-control-bus.ts; one conformance suite.
 */
export interface ControlBus {
  send(serverId: string, msg: ControlMessage): Promise<void>;
  /** Receive this server's messages; resolves once subscribed, and stays subscribed across reconnects. */
  listen(serverId: string, onMessage: (msg: ControlMessage) => void): Promise<void>;
  close(): Promise<void>;
}
