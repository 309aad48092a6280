/** What flow control needs of a connection. */
export interface Outbound {
  readonly closed: boolean;
  readonly outboundBytes: number;
  readonly maxOutboundBytes: number;
}

/** Above half its bound: catch-up reads stop feeding this connection until it drains. */
export function congested(conn: Outbound): boolean {
  return conn.outboundBytes >= conn.maxOutboundBytes / 2;
}

/** Poll interval while waiting for a congested connection to drain. */
const WRITABLE_POLL_MS = 5;

/** Resolves when the connection's outbound buffer is below a quarter of its bound (or it closed). */
export function writable(conn: Outbound): Promise<void> {
  if (conn.closed || !congested(conn)) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setInterval(() => {
      if (conn.closed || conn.outboundBytes < conn.maxOutboundBytes / 4) {
        clearInterval(t);
        resolve();
      }
    }, WRITABLE_POLL_MS);
  });
}
