import type { Logger } from "../../shared/log/logger.js";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import { ErrorCode, ImError } from "../../shared/errors.js";
import { listenServicePort, type PortConn, type ServicePort } from "../../shared/net/service-port.js";
import { processStats } from "../../shared/process-stats.js";
import { counters } from "../../shared/stats-schema.js";
import type { TlsOptions } from "node:tls";
import { tlsServerOptions } from "../../shared/net/tls-config.js";
import type { GatewayConfig } from "./config.js";
import type { Balancer } from "./balancer.js";

/**
 * The gateway: answers REQ_MSG_SERVER with SELECT_MSG_SERVER_FOR_CLIENT <addr> and closes, as v1
 * does. With no live msg_server a line client gets `ERR IM_ERR_NO_MSG_SERVER`, and the connection
 * is closed either way. SEND_PING and STATS are answered like on every service port.
 */
export class Gateway {
  readonly counters = counters("gateway");
  private port: ServicePort | null = null;
  private tlsPort: ServicePort | null = null;

  constructor(
    private readonly cfg: GatewayConfig,
    private readonly log: Logger,
    private readonly balancer: Balancer,
  ) {}

  async listen(): Promise<ServicePort> {
    const port = (listen: string, tls?: TlsOptions) =>
      listenServicePort({
        listen,
        role: "gateway",
        id: this.cfg.listen,
        maxLineBytes: this.cfg.maxLineBytes,
        log: this.log,
        idleMs: this.cfg.requestTimeoutMs,
        // Counted from connect: a client trickling bytes cannot hold a gateway connection.
        deadlineMs: this.cfg.requestTimeoutMs,
        maxConnections: this.cfg.maxConnections,
        maxConnectionsPerAddress: this.cfg.maxConnectionsPerAddress,
        tls,
        describe: "REQ_MSG_SERVER",
        stats: () => this.stats(),
        onCommand: (conn, cmd) => this.onCommand(conn, cmd),
      });
    this.port = await port(this.cfg.listen);
    if (this.cfg.tlsListen && this.cfg.tls) this.tlsPort = await port(this.cfg.tlsListen, tlsServerOptions(this.cfg.tls, "tls"));
    return this.port;
  }

  private onCommand(conn: PortConn, cmd: Command): boolean {
    if (cmd.name !== Cmd.REQ_MSG_SERVER) {
      this.counters.errors++;
      return false;
    }
    this.counters.requests++;
    // A client that came over TLS is sent to a TLS listener: it would not speak plaintext there.
    const tls = conn.transportKind === "tls";
    const e = this.balancer.pickEndpoint({ tls });
    const addr = tls ? e?.tls : e?.addr;
    if (!addr) {
      this.counters.noServer++;
      conn.close(new ImError(ErrorCode.IM_ERR_NO_MSG_SERVER, tls ? "no live msg_server with a TLS listener; try again later" : "no live msg_server; try again later"));
      return true;
    }
    this.counters.handedOut++;
    conn.send({ name: Cmd.SELECT_MSG_SERVER_FOR_CLIENT, args: [addr] });
    conn.close();
    return true;
  }

  stats(): Record<string, number> {
    return { ...processStats().read(), ...this.counters, connections: (this.port?.conns.size ?? 0) + (this.tlsPort?.conns.size ?? 0), liveMsgServers: this.balancer.liveCount };
  }

  async close(): Promise<void> {
    await this.port?.close();
    await this.tlsPort?.close();
  }
}
