import type { Socket } from "node:net";
import type { Logger } from "../../shared/log/logger.js";
import { Connection, errorReply, okReply } from "../../shared/net/connection.js";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import { CommandError, ErrorCode, ImError } from "../../shared/errors.js";
import type { GatewayConfig } from "./config.js";
import type { Balancer } from "./balancer.js";

/**
 * The gateway: answers REQ_MSG_SERVER with SELECT_MSG_SERVER_FOR_CLIENT <addr> and closes, as v1
 * does. With no live msg_server a line client gets `ERR IM_ERR_NO_MSG_SERVER`, and the socket is
 * closed either way.
 */
export class Gateway {
  readonly conns = new Set<Connection<null>>();
  readonly counters = { requests: 0, handedOut: 0, noServer: 0, errors: 0 };
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cfg: GatewayConfig,
    private readonly log: Logger,
    private readonly balancer: Balancer,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const c of this.conns) {
        if (now - c.lastInboundMs > this.cfg.requestTimeoutMs) c.close(new ImError(ErrorCode.IM_ERR_IDLE_TIMEOUT, "no request received"));
      }
    }, 1000);
    this.timer.unref();
  }

  handleSocket(socket: Socket): void {
    if (this.conns.size >= this.cfg.maxConnections) {
      socket.destroy();
      return;
    }
    const conn = new Connection<null>(socket, {
      limits: { maxLineBytes: this.cfg.maxLineBytes, maxFrameBytes: this.cfg.maxLineBytes },
      log: this.log,
      maxOutboundBytes: 1024 * 1024,
      maxInflight: 16,
      state: null,
      onCommand: (c, cmd) => this.onCommand(c, cmd),
      onClose: (c) => this.conns.delete(c),
    });
    this.conns.add(conn);
  }

  private onCommand(conn: Connection<null>, cmd: Command): void {
    switch (cmd.name) {
      case Cmd.REQ_MSG_SERVER: {
        this.counters.requests++;
        const addr = this.balancer.pick();
        if (!addr) {
          this.counters.noServer++;
          conn.close(new ImError(ErrorCode.IM_ERR_NO_MSG_SERVER, "no live msg_server; try again later"));
          return;
        }
        this.counters.handedOut++;
        conn.send({ name: Cmd.SELECT_MSG_SERVER_FOR_CLIENT, args: [addr] });
        conn.close();
        return;
      }
      case Cmd.SEND_PING:
        conn.reply(okReply(Cmd.SEND_PING, "PONG"));
        return;
      case Cmd.STATS:
        conn.reply(okReply(Cmd.STATS, JSON.stringify({ role: "gateway", stats: this.stats() })));
        return;
      default:
        this.counters.errors++;
        conn.reply(errorReply(new CommandError(ErrorCode.IM_ERR_UNKNOWN_COMMAND, `the gateway only answers REQ_MSG_SERVER, not ${cmd.name}`)));
    }
  }

  stats(): Record<string, number> {
    return { ...this.counters, connections: this.conns.size, liveMsgServers: this.balancer.liveCount };
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const c of this.conns) c.destroy();
  }
}
