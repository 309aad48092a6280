/**
 * The HTTP file endpoints (docs/PROTOCOL.md, "Files, images and voice notes"), served on the ws
 * listener's HTTP server: `POST /v1/files?conv=...&name=...` streams a file into the store,
 * `GET|HEAD /v1/files/<id>` serves it (with Range) to the participants of its conversation.
 * Every request is authenticated with the client's login token through ClientAuth.checkBearer,
 * the same checks a login makes. Every error is JSON with an IM_ERR code.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import { ErrorCode, ImError, RateLimitedError } from "../../shared/errors.js";
import { addressKey } from "../../shared/limits/address.js";
import type { Logger } from "../../shared/log/logger.js";
import { p2pConversation } from "../../shared/protocol/conversation.js";
import { p2pParticipants } from "../../shared/store/conversations.js";
import type { AttachmentInfo, ByteRange, Store } from "../../shared/store/store.js";
import { checkClientId, checkTopicName } from "../../shared/validate.js";
import type { ClientAuth } from "./client-auth.js";
import type { MsgServerConfig } from "./config.js";
import { detectMime, peek, safeName, SNIFF_BYTES, Thumbnailer } from "./files-upload.js";

export const FILES_PATH = "/v1/files";
const ID_RE = /^[A-Za-z0-9-]{1,64}$/;

export interface FilesHttpDeps {
  cfg: Pick<MsgServerConfig, "attachments" | "store" | "limits">;
  store: Store;
  auth: ClientAuth;
  /** The ws listener's allowedOrigins: the same pages may use the files. */
  allowedOrigins: readonly string[];
  log: Logger;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.IM_ERR_BAD_ARGS]: 400,
  [ErrorCode.IM_ERR_BAD_CLIENT_ID]: 400,
  [ErrorCode.IM_ERR_BAD_TOPIC_NAME]: 400,
  [ErrorCode.IM_ERR_AUTH_FAILED]: 401,
  [ErrorCode.IM_ERR_FORBIDDEN]: 403,
  [ErrorCode.IM_ERR_NOT_MEMBER]: 403,
  [ErrorCode.IM_ERR_NOT_FOUND]: 404,
  [ErrorCode.IM_ERR_NO_SUCH_TOPIC]: 404,
  [ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT]: 404,
  [ErrorCode.IM_ERR_FILE_TOO_LARGE]: 413,
  [ErrorCode.IM_ERR_BAD_RANGE]: 416,
  [ErrorCode.IM_ERR_RATE_LIMITED]: 429,
  [ErrorCode.IM_ERR_UNAVAILABLE]: 503,
  [ErrorCode.IM_ERR_SHUTTING_DOWN]: 503,
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const json = JSON.stringify(body);
  res.writeHead(status, { ...headers, "Content-Type": "application/json; charset=utf-8", "Content-Length": String(Buffer.byteLength(json)), "Cache-Control": "no-store" }).end(json);
}

function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const e = err instanceof ImError ? err : new ImError(ErrorCode.IM_ERR_INTERNAL, "internal error");
  if (!(err instanceof ImError)) log.warn({ err }, "file request failed");
  const headers: Record<string, string> = {};
  if (e.code === ErrorCode.IM_ERR_AUTH_FAILED) headers["WWW-Authenticate"] = 'Bearer realm="fishchat"';
  if (err instanceof RateLimitedError) headers["Retry-After"] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
  sendJson(res, STATUS[e.code] ?? 500, { error: { code: e.code, message: e.message } }, headers);
}

const fail = (code: ErrorCode, message: string) => new ImError(code, message);

/** Request bytes still read (and dropped) after an early answer, so the client can read it... */
const DRAIN_MAX_BYTES = 1024 * 1024;
/** ...for at most this long; then the connection is dropped. */
const DRAIN_MAX_MS = 2000;

/**
 * After answering a request whose body we did not read (refused before or while streaming):
 * read and drop a bounded rest, then drop the connection if it is still coming. Closing at once
 * with unread bytes makes the kernel reset the connection, and the client may lose the answer.
 */
function drainThenClose(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return;
  res.once("finish", () => {
    if (req.complete || req.destroyed) return;
    let seen = 0;
    const timer = setTimeout(() => req.destroy(), DRAIN_MAX_MS);
    timer.unref();
    req.on("data", (d: Buffer) => {
      seen += d.length;
      if (seen > DRAIN_MAX_BYTES) req.destroy();
    });
    req.once("close", () => clearTimeout(timer));
    req.once("end", () => clearTimeout(timer));
    req.resume();
  });
}

/**
 * `Range: bytes=a-b | a- | -n` as an inclusive range of a file of `size` bytes; null for no
 * range (or one we ignore: malformed, or several, RFC 9110 14.2); throws IM_ERR_BAD_RANGE when
 * it cannot be satisfied.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d{0,16})\s*-\s*(\d{0,16})\s*$/.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return null;
  const unsatisfiable = () => fail(ErrorCode.IM_ERR_BAD_RANGE, `range ${header.trim()} is outside the file's ${size} bytes`);
  if (m[1] === "") {
    const n = Number(m[2]);
    if (n === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Number(m[2]);
  if (end < start) return null;
  if (start >= size) throw unsatisfiable();
  return { start, end: Math.min(end, size - 1) };
}

/** `inline` for media a browser shows, `attachment` for the rest; the name as ASCII and as UTF-8. */
export function contentDisposition(mime: string, name: string): string {
  const inline = /^(image\/(png|jpeg|gif|webp)|audio\/|video\/)/.test(mime);
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\%]/g, "_");
  const utf8 = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${inline ? "inline" : "attachment"}; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

function bearer(req: IncomingMessage, url: URL): string | undefined {
  const h = req.headers.authorization;
  if (h !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
    return m ? m[1] : undefined;
  }
  // <img>/<audio> cannot send headers: downloads take the token in the query too.
  if (req.method === "GET" || req.method === "HEAD") return url.searchParams.get("access_token") ?? undefined;
  return undefined;
}

function retryMs(rejection: unknown): number {
  if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext));
  throw rejection;
}

/**
 * The request handler. Returns false for a path it does not serve (the listener answers those
 * itself), true once it has taken the request.
 */
export function filesHandler(d: FilesHttpDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { cfg, store, auth, log } = d;
  const a = cfg.attachments;
  const maxBytes = cfg.store.attachmentMaxBytes;
  const perClient = new RateLimiterMemory({ points: a.uploadsPerMinute, duration: 60, keyPrefix: "upload" });
  const perAddress = new RateLimiterMemory({ points: a.uploadsPerMinutePerAddress, duration: 60, keyPrefix: "upload-addr" });
  const running = new Map<string, number>();
  const thumbnails = new Thumbnailer(store, { px: a.thumbnailPx, maxPixels: a.thumbnailMaxPixels, concurrency: a.thumbnailConcurrency });

  /** CORS; false (and answered 403) for a page whose origin is not allowed. */
  const cors = (req: IncomingMessage, res: ServerResponse): boolean => {
    const origin = req.headers.origin;
    res.setHeader("Vary", "Origin");
    if (origin === undefined) return true;
    const all = d.allowedOrigins.includes("*");
    if (!all && !d.allowedOrigins.includes(origin)) {
      sendError(res, fail(ErrorCode.IM_ERR_FORBIDDEN, "this origin is not in ws.allowedOrigins"), log);
      return false;
    }
    res.setHeader("Access-Control-Allow-Origin", all ? "*" : origin);
    res.setHeader("Access-Control-Expose-Headers", "Content-Range, Content-Disposition, Content-Length, Accept-Ranges");
    return true;
  };

  const who = async (req: IncomingMessage, url: URL): Promise<string> => {
    if (auth.mode !== "token") throw fail(ErrorCode.IM_ERR_FORBIDDEN, 'file transfer needs clientAuth.mode "token": without tokens nobody can prove who they are');
    const addr = req.socket.remoteAddress ?? "";
    const { clientId } = await auth.checkBearer(bearer(req, url), addr);
    return checkClientId(clientId);
  };

  /** The conversation of `conv=p2p:<peer>` or `conv=<topic>`, which the uploader must belong to. */
  const uploadConv = async (clientId: string, raw: string | null): Promise<string> => {
    if (raw === null || raw === "") throw fail(ErrorCode.IM_ERR_BAD_ARGS, "conv is required: conv=p2p:<peer> or conv=<topic name>");
    if (raw.startsWith("p2p:")) return p2pConversation(clientId, checkClientId(raw.slice(4), "peer id"));
    const topic = checkTopicName(raw);
    if (await store.isMember(topic, clientId)) return topic;
    if (!(await store.getTopic(topic))) throw fail(ErrorCode.IM_ERR_NO_SUCH_TOPIC, `no topic named ${topic}`);
    throw fail(ErrorCode.IM_ERR_NOT_MEMBER, `only members may upload to ${topic}`);
  };

  const mayRead = async (clientId: string, info: AttachmentInfo): Promise<boolean> => {
    const pair = p2pParticipants(info.conv);
    if (pair) return pair[0] === clientId || pair[1] === clientId;
    return store.isMember(info.conv, clientId);
  };

  const admitUpload = async (clientId: string, addr: string): Promise<() => void> => {
    if ((running.get(clientId) ?? 0) >= a.concurrentUploads) throw new RateLimitedError(`at most ${a.concurrentUploads} uploads at once`, 1000);
    try {
      await perAddress.consume(addressKey(addr, cfg.limits.ipv6PrefixBits));
      await perClient.consume(clientId);
    } catch (rejection) {
      const ms = retryMs(rejection);
      throw new RateLimitedError(`too many uploads; retry after ${ms} ms`, ms);
    }
    running.set(clientId, (running.get(clientId) ?? 0) + 1);
    return () => {
      const left = (running.get(clientId) ?? 1) - 1;
      if (left <= 0) running.delete(clientId);
      else running.set(clientId, left);
    };
  };

  const upload = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const clientId = await who(req, url);
    const conv = await uploadConv(clientId, url.searchParams.get("conv"));
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) throw fail(ErrorCode.IM_ERR_FILE_TOO_LARGE, `attachment larger than ${maxBytes} bytes`);
    const release = await admitUpload(clientId, req.socket.remoteAddress ?? "");
    try {
      // Not destroyed when the store stops reading (too large): the 413 must still go out.
      const { head, body } = await peek(req.iterator({ destroyOnReturn: false }), SNIFF_BYTES);
      const mime = await detectMime(head);
      let info = await store.putAttachment({ name: safeName(url.searchParams.get("name")), mime, owner: clientId, conv }, body);
      const thumbnailId = await thumbnails.make(info).catch((err: unknown) => {
        log.debug({ err, id: info.id, mime }, "no thumbnail");
        return null;
      });
      if (thumbnailId) info = { ...info, thumbnailId };
      sendJson(res, 201, { id: info.id, name: info.name, mime: info.mime, size: info.size, thumbnailId: info.thumbnailId });
    } finally {
      release();
    }
  };

  const download = async (req: IncomingMessage, res: ServerResponse, url: URL, id: string): Promise<void> => {
    const clientId = await who(req, url);
    const info = ID_RE.test(id) ? await store.attachmentInfo(id) : null;
    // Not a participant: the same answer as for an id that does not exist.
    if (!info || !(await mayRead(clientId, info))) throw fail(ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT, "no such attachment");
    const headers: Record<string, string> = {
      "Content-Type": info.mime,
      "X-Content-Type-Options": "nosniff",
      "Content-Security-Policy": "sandbox; default-src 'none'",
      "Content-Disposition": contentDisposition(info.mime, info.name),
      "Accept-Ranges": "bytes",
      "Cache-Control": "private, max-age=86400",
      ETag: `"${info.id}"`,
    };
    let range: ByteRange | null;
    try {
      range = parseRange(req.headers.range, info.size);
    } catch (err) {
      res.setHeader("Content-Range", `bytes */${info.size}`);
      throw err;
    }
    const status = range ? 206 : 200;
    if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${info.size}`;
    headers["Content-Length"] = String(range ? range.end - range.start + 1 : info.size);
    if (req.method === "HEAD" || info.size === 0) {
      res.writeHead(status, headers).end();
      return;
    }
    const bytes = await store.readAttachment(id, range ?? undefined);
    res.writeHead(status, headers);
    // A failure mid-way (deleted meanwhile, client gone) can only cut the response short.
    await pipeline(bytes, res).catch((err: unknown) => log.debug({ err, id }, "download cut short"));
  };

  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://files.invalid");
    const path = url.pathname;
    if (path !== FILES_PATH && !path.startsWith(`${FILES_PATH}/`)) return false;
    if (!cors(req, res)) return true;
    const rest = path.slice(FILES_PATH.length + 1);
    const run = (p: Promise<void>) =>
      p.catch((err: unknown) => {
        if (req.destroyed && !(err instanceof ImError)) {
          log.debug({ err }, "client went away during a file request");
          return;
        }
        sendError(res, err, log);
        drainThenClose(req, res);
      });
    if (req.method === "OPTIONS") {
      res
        .writeHead(204, {
          "Access-Control-Allow-Methods": "GET, HEAD, POST",
          "Access-Control-Allow-Headers": "Authorization, Range, Content-Type",
          "Access-Control-Max-Age": "600",
        })
        .end();
      return true;
    }
    const methodNotAllowed = (allow: string) => {
      res.setHeader("Allow", allow);
      sendJson(res, 405, { error: { code: ErrorCode.IM_ERR_BAD_ARGS, message: `method ${req.method} not allowed here; use ${allow}` } });
      drainThenClose(req, res);
    };
    if (path === FILES_PATH || path === `${FILES_PATH}/`) {
      if (req.method !== "POST") methodNotAllowed("POST");
      else void run(upload(req, res, url));
    } else if (rest.includes("/")) {
      void run(Promise.reject(fail(ErrorCode.IM_ERR_NOT_FOUND, `no such path ${path.slice(0, 100)}`)));
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      methodNotAllowed("GET, HEAD");
    } else {
      void run(download(req, res, url, rest));
    }
    return true;
  };
}
