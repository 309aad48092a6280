import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer, type TlsOptions } from "node:tls";
import { splitHostPort } from "../config/common.js";

export interface TcpServer {
  readonly server: Server;
  /** The port actually bound (differs from the configured one when it was 0). */
  readonly port: number;
  /** Stop accepting new connections; open ones stay (a graceful drain). */
  stopAccepting(): void;
  /** Stop listening and destroy every open socket. */
  close(): Promise<void>;
}

/**
 * Listen on "host:port" (TLS when `tls` is given: onSocket then gets the TLSSocket once its
 * handshake is done; a client that fails the handshake, a plaintext one say, never reaches it).
 * Sockets are tracked so close() does not wait for idle clients.
 */
export async function listenTcp(addr: string, onSocket: (socket: Socket) => void, tls?: TlsOptions): Promise<TcpServer> {
  const { host, port } = splitHostPort(addr);
  const sockets = new Set<Socket>();
  const accept = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    onSocket(socket);
  };
  const server = tls ? createTlsServer({ ...tls }, accept) : createServer({ noDelay: true }, accept);
  // Handshake failures (plaintext on a TLS port, a refused client certificate) cost only that socket.
  if (tls) server.on("tlsClientError", (_err, socket) => socket.destroy());
  // A busy accept loop should not take the process down when the fd limit is reached.
  server.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  return {
    server,
    port: typeof bound === "object" && bound ? bound.port : port,
    stopAccepting: () => {
      if (server.listening) server.close();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (server.listening) server.close(() => resolve());
        else resolve();
      }),
  };
}
