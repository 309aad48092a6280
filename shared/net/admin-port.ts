import type { Logger } from "../log/logger.js";
import { Cmd } from "../protocol/commands.js";
import { CommandError, ErrorCode, ImError } from "../errors.js";
import { Connection, errorReply, okReply } from "./connection.js";
import { listenTcp, type TcpServer } from "./tcp-server.js";

/** Connections that send nothing for this long are closed. */
const IDLE_MS = 60_000;

/**
 * The TCP port of router, manager and monitor (v1 accepted connections there and ignored them).
 * Speaks both codecs like every FishChat port and answers SEND_PING and STATS, so operators and
 * health checks can ask any process how it is doing.
 */
export async function listenAdminPort(opts: {
  listen: string;
  role: string;
  maxLineBytes: number;
  log: Logger;
  stats(): Record<string, unknown>;
}): Promise<TcpServer> {
  const conns = new Set<Connection<null>>();
  const server = await listenTcp(opts.listen, (socket) => {
    const conn = new Connection<null>(socket, {
      limits: { maxLineBytes: opts.maxLineBytes, maxFrameBytes: opts.maxLineBytes },
      log: opts.log,
      maxOutboundBytes: 1024 * 1024,
      maxInflight: 16,
      state: null,
      onClose: (c) => conns.delete(c),
      onCommand: (c, cmd) => {
        if (cmd.name === Cmd.SEND_PING) c.reply(okReply(Cmd.SEND_PING, "PONG"));
        else if (cmd.name === Cmd.STATS) c.reply(okReply(Cmd.STATS, JSON.stringify({ role: opts.role, stats: opts.stats() })));
        else c.reply(errorReply(new CommandError(ErrorCode.IM_ERR_UNKNOWN_COMMAND, `the ${opts.role} port answers SEND_PING and STATS, not ${cmd.name}`)));
      },
    });
    conns.add(conn);
  });
  const timer = setInterval(() => {
    const now = Date.now();
    for (const c of conns) if (now - c.lastInboundMs > IDLE_MS) c.close(new ImError(ErrorCode.IM_ERR_IDLE_TIMEOUT, "idle"));
  }, 5000);
  timer.unref();
  return {
    server: server.server,
    port: server.port,
    close: async () => {
      clearInterval(timer);
      await server.close();
    },
  };
}
