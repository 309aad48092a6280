import type { Logger } from "../log/logger.js";
import { Cmd, type Command } from "../protocol/commands.js";
import { errorReply, okReply } from "../protocol/dialect.js";
import { CommandError, ErrorCode } from "../errors.js";
import { Connection } from "./connection.js";
import { IdleSweeper } from "./idle-sweeper.js";
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
  const server = await listenTcp(o.listen, (socket) => {
    if (o.maxConnections !== undefined && conns.size >= o.maxConnections) {
      socket.destroy();
      return;
    }
    const conn = new Connection<null>(new TcpTransport(socket), {
      limits,
      log: o.log,
      maxOutboundBytes: 1024 * 1024,
      maxInflight: 16,
      state: null,
      onClose: (c) => conns.delete(c),
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
  });
  const idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
  const sweeper = new IdleSweeper(conns, { idleMs: () => idleMs, stalledMs: idleMs });
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
