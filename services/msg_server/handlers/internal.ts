import { sameSecret } from "../../../shared/secret.js";
import { Cmd, type Command } from "../../../shared/protocol/commands.js";
import { encodeEnvelope, parseEnvelope, routedTopicMessage, type Envelope } from "../../../shared/protocol/envelope.js";
import { AuthError, CommandError, ErrorCode } from "../../../shared/errors.js";
import { okReply } from "../../../shared/protocol/dialect.js";
import { needArgs, type Handler } from "./types.js";

/** AUTH <clusterSecret> (new): turns a connection into an internal link. A wrong secret closes it. */
export const auth: Handler = {
  access: "any",
  handle(ctx, conn, cmd) {
    needArgs(cmd, 1, 1, "AUTH <secret>");
    if (conn.state.role === "client") throw new CommandError(ErrorCode.IM_ERR_FORBIDDEN, "a client connection cannot become an internal link");
    const mode = ctx.cfg.internalAuth;
    if ((mode === "tls" && conn.transportKind !== "tls") || (mode === "mtls" && !conn.peerCertified)) {
      // Checked before the secret, so a wrong transport learns nothing about it.
      setImmediate(() => conn.close());
      throw new AuthError(ErrorCode.IM_ERR_AUTH_FAILED, mode === "tls" ? "internal links must use the TLS listener" : "internal links need a client certificate signed by the cluster's CA");
    }
    if (!sameSecret(cmd.args[0]!, ctx.cfg.clusterSecret)) {
      const err = new AuthError(ErrorCode.IM_ERR_AUTH_FAILED, "wrong cluster secret");
      setImmediate(() => conn.close());
      throw err;
    }
    conn.state.role = "internal";
    // A link carries every routed message of the cluster: a client's bound would reset it in bursts.
    conn.maxOutboundBytes = ctx.cfg.maxLinkOutboundBytes;
    return okReply(Cmd.AUTH);
  },
};

/**
 * SUBSCRIBE_CHANNEL <channel> <subscriberId> (v1; internal links only). The new subscriber then
 * gets a snapshot of the current state where the channel has one (sessions, topics online here).
 */
export const subscribe: Handler = {
  access: "internal",
  handle(ctx, conn, cmd) {
    needArgs(cmd, 2, 2, "SUBSCRIBE_CHANNEL <channel> <subscriberId>");
    const channel = cmd.args[0]!;
    if (!ctx.channels.has(channel)) throw new CommandError(ErrorCode.IM_ERR_UNKNOWN_CHANNEL, `unknown channel ${channel}`);
    ctx.channels.subscribe(channel, conn);
    conn.state.subscriberId = cmd.args[1]!;
    queueMicrotask(() => {
      for (const c of ctx.snapshot(channel)) conn.send(c);
    });
    return okReply(Cmd.SUBSCRIBE_CHANNEL, channel);
  },
};

export const unsubscribe: Handler = {
  access: "internal",
  handle(ctx, conn, cmd) {
    needArgs(cmd, 1, 2, "UNSUBSCRIBE_CHANNEL <channel> [subscriberId]");
    ctx.channels.unsubscribe(cmd.args[0]!, conn);
    return okReply(Cmd.UNSUBSCRIBE_CHANNEL, cmd.args[0]!);
  },
};

/** The envelope an internal command carries; malformed ones are IM_ERR_BAD_ARGS with the usage. */
function envelopeOf<T extends Envelope["type"]>(cmd: Command, type: T): Extract<Envelope, { type: T }> {
  const e = parseEnvelope(cmd);
  if (e?.type !== type) throw new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `not a ${type} message`);
  return e as Extract<Envelope, { type: T }>;
}

/**
 * ROUTE_MESSAGE_P2P <to> <msg> <from> <uuid> <ipos> <seq> <ts> (v1 order, extended; router only).
 * No reply on success. If the recipient is not here, ROUTE_NACK <to> <uuid> <ipos> tells the
 * router its location cache is stale; the message itself is safe in the store either way.
 */
export const routeP2P: Handler = {
  access: "internal",
  handle(ctx, conn, cmd) {
    const e = envelopeOf(cmd, "route-p2p");
    if (!ctx.p2p.routed(e)) conn.send(encodeEnvelope({ type: "route-nack", to: e.to, uuid: e.uuid, ipos: e.ipos }));
    return null;
  },
};

/** ROUTE_MESSAGE_TOPIC <name> <msg> <from> <uuid> <seq> <ts> (new; router only): fan out to local members. */
export const routeTopic: Handler = {
  access: "internal",
  handle(ctx, _conn, cmd) {
    const e = envelopeOf(cmd, "route-topic");
    ctx.stats.topicRoutedIn++;
    ctx.topics.fanoutLocal(routedTopicMessage(e));
    return null;
  },
};

/** RESYNC <clientId> (new; router only): a route to this client was lost; read its inbox from the store now. */
export const resync: Handler = {
  access: "internal",
  handle(ctx, _conn, cmd) {
    ctx.p2p.resync(envelopeOf(cmd, "resync").clientId);
    return null;
  },
};

/** STATS (new, every port): `OK STATS <json>` with this process's counters and gauges. */
export const stats: Handler = {
  access: "internal",
  handle(ctx) {
    return okReply(Cmd.STATS, JSON.stringify({ role: "msg_server", id: ctx.serverId, stats: ctx.statsSnapshot() }));
  },
};
