import { EventEmitter } from "node:events";
import { FishChatClient, requestMsgServer, type P2PMessage, type TopicMessage } from "../../shared/client/client.js";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import type { CodecKind } from "../../shared/protocol/codec.js";
import { ErrorCode, ImError, toImError } from "../../shared/errors.js";
import { ReconnectPolicy } from "../../shared/client/reconnect-policy.js";

export interface SessionOptions {
  gateway: string;
  /** Skip the gateway and always log in on this msg_server. */
  server?: string;
  clientId: string;
  /** The token for each login (called again at every re-login, so it may mint a fresh one); none in clientAuth mode "none". */
  token?: () => Promise<string | undefined>;
  codec: CodecKind;
  heartbeatMs: number;
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Acknowledge p2p and topic messages on receipt (the CLI clients acknowledge after printing; default off). */
  autoAck?: boolean;
}

/** Errors that mean "this connection is gone", not "the command was refused". */
const CONNECTION_LOST = new Set<string>([
  ErrorCode.IM_ERR_UNAVAILABLE,
  ErrorCode.IM_ERR_SHUTTING_DOWN,
  ErrorCode.IM_ERR_IDLE_TIMEOUT,
  ErrorCode.IM_ERR_SLOW_CONSUMER,
]);
/** Login failures that retrying cannot fix. */
const FATAL_LOGIN = new Set<string>([ErrorCode.IM_ERR_BAD_CLIENT_ID, ErrorCode.IM_ERR_BAD_ARGS, ErrorCode.IM_ERR_FORBIDDEN, ErrorCode.IM_ERR_AUTH_FAILED]);

export function isConnectionLoss(err: unknown): boolean {
  return err instanceof ImError && CONNECTION_LOST.has(err.code);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A logged-in FishChat session that survives its msg_server: when the connection drops without
 * us closing it, it asks the gateway again and logs in again, with exponential backoff and jitter,
 * waiting what the server says when it refuses a login with IM_ERR_RATE_LIMITED (ReconnectPolicy).
 * A kick (the same id logged in elsewhere) ends it for good: that is another login taking over.
 *
 * Events: "connected" (addr, again: boolean), "retrying" and "reconnecting" (delayMs, reason, error: the failed attempt's, if any),
 * "loginRefused" (delayMs, error: a login refused with a short wait, sent again on the same connection), "p2p", "topic",
 * "push" (Command), "kicked" (why), "closed".
 */
export class ClientSession extends EventEmitter {
  /** The msg_server of the current (or last) connection, as handed out by the gateway. */
  addr = "";
  kicked: string | null = null;
  private client: FishChatClient | null = null;
  private stopped = false;
  private everConnected = false;
  private readonly policy: ReconnectPolicy;
  private waiters: { resolve(c: FishChatClient): void; reject(e: Error): void }[] = [];
  private lastError = "";

  constructor(readonly opts: SessionOptions) {
    super();
    this.policy = new ReconnectPolicy(opts.reconnectMinMs, opts.reconnectMaxMs);
  }

  get clientId(): string {
    return this.opts.clientId;
  }

  get up(): boolean {
    return this.client !== null && !this.client.closed;
  }

  /**
   * First login; retried with backoff until connectTimeoutMs has really passed (the last wait is
   * cut to the deadline, then one more attempt), so "could not log in within N ms" is true.
   */
  async start(): Promise<void> {
    const started = Date.now();
    const deadline = started + this.opts.connectTimeoutMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.connectOnce();
        return;
      } catch (err) {
        const e = toImError(err);
        if (FATAL_LOGIN.has(e.code) || this.stopped) throw e;
        const left = deadline - Date.now();
        if (left <= 0) {
          const tries = `${attempt} attempt${attempt === 1 ? "" : "s"} in ${Date.now() - started} ms`;
          throw new ImError(e.code, `could not log in within ${this.opts.connectTimeoutMs} ms (${tries}): ${e.message}`);
        }
        const delay = Math.min(this.policy.next(e), left);
        this.emit("retrying", delay, e.message, e);
        await sleep(delay);
      }
    }
  }

  /** Log in on a given msg_server now (v1's LOCATE_TOPIC_MSG_ADDR redirect), closing the current connection. */
  async moveTo(addr: string): Promise<void> {
    const old = this.client;
    this.client = null;
    old?.close();
    await this.connectOnce(addr);
  }

  private async connectOnce(target?: string): Promise<void> {
    const o = this.opts;
    const addr = target ?? o.server ?? (await this.askGateway());
    const c = new FishChatClient({ codec: o.codec, autoAck: o.autoAck ?? false, heartbeatMs: o.heartbeatMs, requestTimeoutMs: o.requestTimeoutMs });
    try {
      await c.connect(addr);
    } catch (err) {
      throw new ImError(ErrorCode.IM_ERR_UNAVAILABLE, `cannot connect to ${addr}: ${(err as Error).message}`);
    }
    c.on("p2p", (m: P2PMessage) => this.emit("p2p", m));
    c.on("topic", (m: TopicMessage) => this.emit("topic", m));
    c.on("push", (cmd: Command) => this.onPush(cmd));
    c.on("reply", (cmd: Command) => {
      if (cmd.name === Cmd.ERR) this.emit("asyncError", cmd);
    });
    c.on("close", () => this.onClientClose(c));
    try {
      await this.policy.login(c, o.clientId, await o.token?.(), (ms, err) => this.emit("loginRefused", ms, err));
    } catch (err) {
      c.close();
      throw err;
    }
    if (c.closed) throw new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "connection closed during login");
    if (this.stopped) {
      c.close();
      throw new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "client closed");
    }
    this.client = c;
    this.addr = addr;
    this.policy.reset();
    const again = this.everConnected;
    this.everConnected = true;
    this.emit("connected", addr, again);
    for (const w of this.waiters.splice(0)) w.resolve(c);
  }

  private async askGateway(): Promise<string> {
    try {
      return await requestMsgServer(this.opts.gateway, this.opts.codec, this.opts.requestTimeoutMs);
    } catch (err) {
      if (err instanceof ImError) throw err;
      throw new ImError(ErrorCode.IM_ERR_UNAVAILABLE, `gateway ${this.opts.gateway}: ${(err as Error).message}`);
    }
  }

  private onPush(cmd: Command): void {
    if (cmd.name === Cmd.KICKED || (cmd.name === Cmd.ERR && cmd.args[0] === ErrorCode.IM_ERR_KICKED)) {
      if (this.kicked === null) {
        this.kicked = cmd.args[cmd.name === Cmd.KICKED ? 0 : 1] ?? "logged in elsewhere";
        this.emit("kicked", this.kicked);
      }
      return;
    }
    if (cmd.name === Cmd.GOAWAY) {
      // The msg_server is draining: leave after the delay it chose, and log in again elsewhere.
      const c = this.client;
      const delay = Number(cmd.args[0]) || 0;
      this.emit("goaway", delay);
      setTimeout(() => {
        if (c && c === this.client) {
          this.lastError = "the msg_server is draining (GOAWAY)";
          c.close();
        }
      }, delay).unref();
      return;
    }
    if (cmd.name === Cmd.TOKEN_EXPIRING) {
      this.emit("tokenExpiring", Number(cmd.args[0]) || 0);
      void this.refreshToken();
      return;
    }
    if (cmd.name === Cmd.ERR) {
      // Sent just before the server closes the connection (shutdown, idle timeout).
      this.lastError = `${cmd.args[0] ?? "ERR"} ${cmd.args[1] ?? ""}`.trim();
      return;
    }
    this.emit("push", cmd);
  }

  private onClientClose(c: FishChatClient): void {
    if (c !== this.client) return;
    this.client = null;
    if (this.stopped) return;
    if (this.kicked !== null) {
      this.failWaiters(new ImError(ErrorCode.IM_ERR_KICKED, this.kicked));
      return;
    }
    const reason = this.lastError || `connection to ${this.addr} closed`;
    this.lastError = "";
    void this.reconnectLoop(reason);
  }

  private async reconnectLoop(reason: string): Promise<void> {
    let why = reason;
    let failed: ImError | undefined;
    while (!this.stopped && this.client === null && this.kicked === null) {
      const delay = this.policy.next(failed);
      this.emit("reconnecting", delay, why, failed);
      await sleep(delay);
      if (this.stopped || this.client !== null) return;
      try {
        await this.connectOnce();
      } catch (err) {
        failed = toImError(err);
        if (FATAL_LOGIN.has(failed.code)) {
          this.failWaiters(failed);
          this.emit("fatal", failed);
          return;
        }
        why = failed.message;
      }
    }
  }

  /** The live connection; waits for a re-login in progress, at most timeoutMs when given. */
  ready(timeoutMs?: number): Promise<FishChatClient> {
    if (this.client && !this.client.closed) return Promise.resolve(this.client);
    if (this.kicked !== null) return Promise.reject(new ImError(ErrorCode.IM_ERR_KICKED, this.kicked));
    if (this.stopped) return Promise.reject(new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "client closed"));
    return new Promise((resolve, reject) => {
      const w = { resolve, reject };
      this.waiters.push(w);
      if (timeoutMs !== undefined) {
        setTimeout(() => {
          const i = this.waiters.indexOf(w);
          if (i < 0) return;
          this.waiters.splice(i, 1);
          reject(new ImError(ErrorCode.IM_ERR_UNAVAILABLE, `not connected for ${timeoutMs} ms`));
        }, timeoutMs).unref();
      }
    });
  }

  /**
   * Send a command and wait for its reply (ERR rejects with its code). With `retry`, a command
   * cut off by a lost connection is sent again after the re-login: only for idempotent commands,
   * or sends carrying a client message id (the server drops the duplicate).
   */
  async request(cmd: Command, o: { retry?: boolean; expectReply?: boolean; waitMs?: number } = {}): Promise<Command> {
    for (;;) {
      const c = await this.ready(o.waitMs);
      try {
        return await c.request(cmd, { expectReply: o.expectReply });
      } catch (err) {
        if (o.retry && isConnectionLoss(err) && !this.stopped && this.kicked === null) continue;
        throw err;
      }
    }
  }

  /** A fresh token from the token source, sent with REFRESH_TOKEN, so the session outlives its first token. */
  private async refreshToken(): Promise<void> {
    try {
      const token = await this.opts.token?.();
      if (token && this.opts.codec === "line") await this.request({ name: Cmd.REFRESH_TOKEN, args: [token] });
    } catch (err) {
      this.emit("asyncError", { name: Cmd.ERR, args: [toImError(err).code, `token refresh failed: ${toImError(err).message}`] });
    }
  }

  /** Fire and forget (packet codec: v1 has no replies). */
  async write(cmd: Command, waitMs?: number): Promise<void> {
    (await this.ready(waitMs)).send(cmd);
  }

  private failWaiters(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }

  close(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.failWaiters(new ImError(ErrorCode.IM_ERR_UNAVAILABLE, "client closed"));
    this.client?.close();
    this.client = null;
    this.emit("closed");
  }
}
