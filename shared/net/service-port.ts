import type { Logger } from "../log/logger.js";
import { Cmd, type Command } from "../protocol/commands.js";
import { errorReply, okReply } from "../protocol/dialect.js";
import { CommandError, ErrorCode } from "../errors.js";
import { Connection } from "./connection.js";
import { IdleSweeper } from "./idle-sweeper.js";
import type { TlsOptions } from "node:tls";
import { ConnectionLimiter } from "../limits/address-limiters.js";
import { listenTcp, type TcpServer } from "./tcp-server.js";
import { TcpTransport } from "./tcp-transport.js";

const DEFAULT_IDLE_MS = 60_000;

export type PortConn = Connection<null>;

export interface ServicePortOptions {
  listen: string;
  role: string;
  /** The process's id in the registry, echoed in STATS so every port answers in one shape. */
  id: string;
  maxLineBytes: number;
  log: Logger;
  /** Close a connection that sent nothing for this long (default 60 s). */
  idleMs?: number;
  /** Concurrent connections; beyond it new ones are dropped at once. */
  maxConnections?: number;
  /** Concurrent connections per source address (IPv6 per /64); beyond it new ones are dropped. */
  maxConnectionsPerAddress?: number;
  /** A connection is closed this long after it opened, whatever it sends (0: never). */
  deadlineMs?: number;
  /** Serve TLS on this port (options from shared/net/tls-config.ts). */
  tls?: TlsOptions;
  stats(): Record<string, unknown>;
  /** The port's own commands; return false for anything else (answered IM_ERR_UNKNOWN_COMMAND). */
  onCommand?(conn: PortConn, cmd: Command): boolean;
  /** What the port answers besides SEND_PING and STATS, for the unknown-command error. */
  describe?: string;
}

export interface ServicePort extends TcpServer {
  readonly conns: ReadonlySet<PortConn>;
}

/**
 * A small TCP port speaking both codecs that answers SEND_PING and STATS, so operators and health
 * checks can ask any process how it is doing, plus whatever the service adds (the gateway's
 * REQ_MSG_SERVER). Router, manager and monitor listen on one (v1 accepted connections there and
 * ignored them); so does the gateway.
 */
export async function listenServicePort(o: ServicePortOptions): Promise<ServicePort> {
  const conns = new Set<PortConn>();
  const limits = { maxLineBytes: o.maxLineBytes, maxFrameBytes: o.maxLineBytes };
  const perAddress = o.maxConnectionsPerAddress ? new ConnectionLimiter(o.maxConnectionsPerAddress) : null;
  const server = await listenTcp(o.listen, (socket) => {
    if (o.maxConnections !== undefined && conns.size >= o.maxConnections) {
      socket.destroy();
      return;
    }
    const release = perAddress ? perAddress.acquire(socket.remoteAddress) : () => undefined;
    if (!release) {
      socket.end(`ERR ${ErrorCode.IM_ERR_TOO_MANY_CONNECTIONS} "too many connections from your address"\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const conn = new Connection<null>(new TcpTransport(socket), {
      limits,
      log: o.log,
      maxOutboundBytes: 1024 * 1024,
      maxInflight: 16,
      state: null,
      onClose: (c) => {
        conns.delete(c);
        release();
      },
      onCommand: (c, cmd) => {
        if (cmd.name === Cmd.SEND_PING) c.reply(cmd, okReply(Cmd.SEND_PING, "PONG"));
        else if (cmd.name === Cmd.STATS) c.reply(cmd, okReply(Cmd.STATS, JSON.stringify({ role: o.role, id: o.id, stats: o.stats() })));
        else if (!o.onCommand?.(c, cmd)) {
          const what = o.describe ? `${o.describe}, SEND_PING and STATS` : "SEND_PING and STATS";
          c.reply(cmd, errorReply(new CommandError(ErrorCode.IM_ERR_UNKNOWN_COMMAND, `the ${o.role} port answers ${what}, not ${cmd.name}`)));
        }
      },
    });
    conns.add(conn);
  }, o.tls);
  const idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
  const sweeper = new IdleSweeper(conns, { idleMs: () => idleMs, deadlineMs: () => o.deadlineMs ?? 0, stalledMs: idleMs });
  sweeper.start();
  return {
    server: server.server,
    port: server.port,
    conns,
    stopAccepting: server.stopAccepting,
    close: async () => {
      sweeper.stop();
      await server.close();
    },
  };
}
