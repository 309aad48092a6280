/**
 * One WebSocket to one msg_server in the JSON dialect (docs/PROTOCOL.md "WebSocket"): every
 * request carries an id and its reply is matched by it; pushes go to `onPush`. No reconnecting
 * here: a Socket lives as long as its connection, and client.ts makes new ones.
 */

export class ServerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ServerError";
  }
}

/** The connection went away before the reply: the request may or may not have been carried out. */
export class ConnectionLost extends Error {
  constructor(message = "connection lost") {
    super(message);
    this.name = "ConnectionLost";
  }
}

interface Pending {
  resolve(result: string[]): void;
  reject(err: Error): void;
  timer: number;
}

export interface SocketEvents {
  onPush(name: string, args: string[]): void;
  /** An error the server sent for no request (the notice before it closes: kicked, idle, shutting down). */
  onNotice(code: string, message: string): void;
  onClose(code: number, reason: string): void;
}

const REQUEST_TIMEOUT_MS = 15_000;

export class Socket {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  private constructor(
    private readonly ws: WebSocket,
    private readonly ev: SocketEvents,
  ) {
    ws.addEventListener("message", (e) => this.onMessage(e.data));
    ws.addEventListener("close", (e) => this.onClosed(e.code, e.reason));
  }

  /** Opens `url`; rejects when the connection cannot be made within timeoutMs. */
  static open(url: string, ev: SocketEvents, timeoutMs = 10_000): Promise<Socket> {
    return new Promise((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(url);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      const timer = window.setTimeout(() => {
        ws.close();
        reject(new ConnectionLost(`no answer from ${url}`));
      }, timeoutMs);
      const failed = () => {
        window.clearTimeout(timer);
        reject(new ConnectionLost(`cannot connect to ${url}`));
      };
      ws.addEventListener("error", failed, { once: true });
      ws.addEventListener(
        "open",
        () => {
          window.clearTimeout(timer);
          ws.removeEventListener("error", failed);
          resolve(new Socket(ws, ev));
        },
        { once: true },
      );
    });
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === WebSocket.OPEN;
  }

  request(cmd: string, args: readonly (string | number)[] = [], timeoutMs = REQUEST_TIMEOUT_MS): Promise<string[]> {
    if (!this.isOpen) return Promise.reject(new ConnectionLost());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new ServerError("IM_ERR_TIMEOUT", `${cmd}: no reply within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ id, cmd, args: args.map(String) }));
    });
  }

  /** Close from our side; pending requests fail with ConnectionLost. */
  close(code = 1000, reason = ""): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, reason);
    this.onClosed(code, reason);
  }

  private onMessage(data: unknown): void {
    if (typeof data !== "string") return;
    let m: { id?: unknown; ok?: boolean; result?: unknown; error?: { code?: string; message?: string }; push?: unknown; args?: unknown };
    try {
      m = JSON.parse(data) as typeof m;
    } catch {
      return;
    }
    if (typeof m.push === "string") {
      this.ev.onPush(m.push, Array.isArray(m.args) ? m.args.map(String) : []);
      return;
    }
    const p = typeof m.id === "number" ? this.pending.get(m.id) : undefined;
    if (!p) {
      if (m.ok === false) this.ev.onNotice(m.error?.code ?? "IM_ERR_INTERNAL", m.error?.message ?? "");
      return;
    }
    this.pending.delete(m.id as number);
    window.clearTimeout(p.timer);
    if (m.ok) p.resolve(Array.isArray(m.result) ? m.result.map(String) : []);
    else p.reject(new ServerError(m.error?.code ?? "IM_ERR_INTERNAL", m.error?.message ?? "request failed"));
  }

  private onClosed(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) {
      window.clearTimeout(p.timer);
      p.reject(new ConnectionLost());
    }
    this.pending.clear();
    this.ev.onClose(code, reason);
  }
}
