import { sameSecret } from "../../../shared/secret.js";
import { Cmd } from "../../../shared/protocol/commands.js";
import { AuthError, CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/net/connection.js";
import { ChannelHub } from "../channels.js";
import { offerP2P, parseRouted } from "../delivery.js";
import { snapshotFor } from "../events.js";
import { needArgs, type Handler } from "./types.js";

/** AUTH <clusterSecret> (new): turns a connection into an internal link. A wrong secret closes it. */
export const auth: Handler = {
  access: "any",
  handle(srv, conn, cmd) {
    needArgs(cmd, 1, 1, "AUTH <secret>");
    if (conn.state.role === "client") throw new CommandError(ErrorCode.IM_ERR_FORBIDDEN, "a client connection cannot become an internal link");
    if (!sameSecret(cmd.args[0]!, srv.cfg.clusterSecret)) {
      const err = new AuthError(ErrorCode.IM_ERR_AUTH_FAILED, "wrong cluster secret");
      setImmediate(() => conn.close());
      throw err;
    }
    conn.state.role = "internal";
    // A link carries every routed message of the cluster: a client's bound would reset it in bursts.
    conn.maxOutboundBytes = srv.cfg.maxLinkOutboundBytes;
    return okReply(Cmd.AUTH);
  },
};

/**
 * SUBSCRIBE_CHANNEL <channel> <subscriberId> (v1; internal links only). The new subscriber then
 * gets a snapshot of the current state where the channel has one (sessions, topics online here).
 */
export const subscribe: Handler = {
  access: "internal",
  handle(srv, conn, cmd) {
    needArgs(cmd, 2, 2, "SUBSCRIBE_CHANNEL <channel> <subscriberId>");
    const channel = cmd.args[0]!;
    if (!srv.channels.has(channel)) throw new CommandError(ErrorCode.IM_ERR_UNKNOWN_CHANNEL, `unknown channel ${channel}`);
    srv.channels.subscribe(channel, conn);
    conn.state.subscriberId = cmd.args[1]!;
    queueMicrotask(() => {
      for (const c of snapshotFor(srv, channel)) ChannelHub.sendTo(conn, c);
    });
    return okReply(Cmd.SUBSCRIBE_CHANNEL, channel);
  },
};

export const unsubscribe: Handler = {
  access: "internal",
  handle(srv, conn, cmd) {
    needArgs(cmd, 1, 2, "UNSUBSCRIBE_CHANNEL <channel> [subscriberId]");
    srv.channels.unsubscribe(cmd.args[0]!, conn);
    return okReply(Cmd.UNSUBSCRIBE_CHANNEL, cmd.args[0]!);
  },
};

/**
 * ROUTE_MESSAGE_P2P <to> <msg> <from> <uuid> <ipos> <seq> <ts> (v1 order, extended; router only).
 * No reply on success. If the recipient is not here, ROUTE_NACK <to> <uuid> <ipos> tells the
 * router its location cache is stale; the message itself is safe in the store either way.
 */
export const routeP2P: Handler = {
  access: "internal",
  handle(srv, conn, cmd) {
    const routed = parseRouted(cmd.args);
    if (!routed) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "usage: ROUTE_MESSAGE_P2P <to> <msg> <from> <uuid> <ipos> <seq> <ts>");
    srv.stats.routedIn++;
    const s = srv.sessions.get(routed.msg.to);
    if (s) offerP2P(s, routed.msg, routed.ipos, srv);
    else {
      srv.stats.routeNacks++;
      conn.send({ name: Cmd.ROUTE_NACK, args: [routed.msg.to, routed.msg.uuid, String(routed.ipos)] });
    }
    return null;
  },
};

/** ROUTE_MESSAGE_TOPIC <name> <msg> <from> <uuid> <seq> <ts> (new; router only): fan out to local members. */
export const routeTopic: Handler = {
  access: "internal",
  handle(srv, _conn, cmd) {
    const [name, body, from, uuid, seq, ts] = cmd.args;
    const sq = Number(seq);
    if (name === undefined || body === undefined || from === undefined || uuid === undefined || !Number.isSafeInteger(sq) || sq <= 0) {
      throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, "usage: ROUTE_MESSAGE_TOPIC <name> <msg> <from> <uuid> <seq> <ts>");
    }
    srv.stats.topicRoutedIn++;
    srv.topics.fanoutLocal({ uuid, kind: "topic", conv: name, seq: sq, from, to: name, body, ts: Number(ts) || Date.now() });
    return null;
  },
};

/** RESYNC <clientId> (new; router only): a route to this client was lost; read its inbox from the store now. */
export const resync: Handler = {
  access: "internal",
  handle(srv, _conn, cmd) {
    needArgs(cmd, 1, 1, "RESYNC <clientId>");
    srv.sessions.get(cmd.args[0]!)?.inbox?.pull();
    return null;
  },
};

/** STATS (new, every port): `OK STATS <json>` with this process's counters and gauges. */
export const stats: Handler = {
  access: "internal",
  handle(srv) {
    return okReply(Cmd.STATS, JSON.stringify({ role: "msg_server", id: srv.serverId, stats: srv.stats.snapshot(srv.gauges()) }));
  },
};
