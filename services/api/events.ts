import type { SessionDirectory } from "../../shared/bus/session-directory.js";
import type { Logger } from "../../shared/log/logger.js";
import type { Link } from "../../shared/net/link.js";
import { Channel, Cmd, type Command } from "../../shared/protocol/commands.js";
import { parseEnvelope } from "../../shared/protocol/envelope.js";
import type { Webhook } from "./webhook.js";

/**
 * Channels the API's links subscribe to when a webhook is configured: session changes, and p2p
 * messages that left their sender's server. SEND_WATCH, not SEND: SEND goes to one of its
 * subscribers (the router that forwards it), so an API there would take routers' messages.
 */
export const EVENT_CHANNELS = [Channel.CLIENT_STATUS, Channel.SEND_WATCH] as const;

/**
 * What the msg_servers publish, turned into webhook events:
 * - a session event (CLIENT_STATUS) alive -> `login`, ended -> `logout`;
 * - a p2p message handed to the router (SEND_WATCH: its recipient is not on the sender's server) whose
 *   recipient the session directory does not know -> `message.offline`, for a push notification.
 *
 * Subscribing makes a msg_server replay its live sessions as session events; they are not
 * logins. A link's replay is over when the SEND_PING sent once the link is up is answered (the
 * msg_server wrote the replay before it read the ping), so alive events before that are skipped.
 */
export class EventSource {
  private readonly replaying = new Set<Link>();

  constructor(
    private readonly webhook: Webhook,
    private readonly directory: SessionDirectory,
    private readonly log: Logger,
  ) {}

  onUp(link: Link): void {
    this.replaying.add(link);
    link.request({ name: Cmd.SEND_PING, args: ["PING"] }, 10_000).then(
      () => this.replaying.delete(link),
      () => this.replaying.delete(link),
    );
  }

  onDown(link: Link): void {
    this.replaying.delete(link);
  }

  onCommand(link: Link, cmd: Command): void {
    let e: ReturnType<typeof parseEnvelope>;
    try {
      e = parseEnvelope(cmd);
    } catch (err) {
      this.log.warn({ err, from: link.addr }, "malformed message from a msg_server");
      return;
    }
    if (e?.type === "session" && e.target === "cache") {
      if (e.alive && this.replaying.has(link)) return;
      this.webhook.emit(e.alive ? "login" : "logout", { user: e.clientId, server: e.serverId, address: e.clientAddr });
      return;
    }
    if (e?.type === "route-p2p" && this.webhook.wants("message.offline")) {
      this.directory.lookup(e.to).then(
        (loc) => {
          if (loc === null) this.webhook.emit("message.offline", { to: e.to, from: e.from, id: e.uuid, seq: e.seq, ts: e.ts, body: e.body });
        },
        (err: unknown) => this.log.warn({ err, to: e.to }, "presence lookup failed; no offline-message event"),
      );
    }
  }
}
