import type { IncomingMessage } from "node:http";
import { clientAuthSchema, type ClientAuthConfig } from "../../shared/auth/config.js";
import { type KeySet, loadKeySet } from "../../shared/auth/keys.js";
import { mintToken } from "../../shared/auth/mint.js";
import { CommandError, ConfigError, ErrorCode } from "../../shared/errors.js";
import { checkClientId } from "../../shared/validate.js";
import type { DevLoginConfig } from "./config.js";

/** A dev-login body is `{"id": "alice"}`: anything longer than this is not one. */
export const MAX_DEV_LOGIN_BODY_BYTES = 1024;

/** What POST /v1/dev-login answers, beside the endpoint. */
export interface DevLoginToken {
  id: string;
  token: string;
  /** Seconds since the epoch, the token's `exp`. */
  exp: number;
}

export interface DevLogin {
  /** Reads and checks the request body, then mints a token for its id. Throws CommandError for bad input. */
  mint(req: IncomingMessage): Promise<DevLoginToken>;
}

/** An HTTP status for each error a dev login can end with. */
export class HttpError extends CommandError {
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
  ) {
    super(code, message);
  }
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > max) throw new HttpError(413, ErrorCode.IM_ERR_MSG_TOO_LARGE, `body over ${max} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Chunked bodies carry no length: stop reading as soon as the bound is passed.
    if (size > max) throw new HttpError(413, ErrorCode.IM_ERR_MSG_TOO_LARGE, `body over ${max} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The development login: loads the key once (a missing key file fails the gateway's start with
 * the key's name), then mints a token for whatever id a request names. The caller decides who
 * may ask (Host and Origin checks in http.ts; loopback only, by the exposure check).
 */
export async function openDevLogin(cfg: DevLoginConfig): Promise<DevLogin> {
  const auth: ClientAuthConfig = clientAuthSchema.parse({ mode: "token", keys: [cfg.key], issuer: cfg.issuer, audience: cfg.audience });
  const keys: KeySet = await loadKeySet(auth);
  if (!keys.keys.get(cfg.key.kid)?.signKey) throw new ConfigError(`http.devLogin.key "${cfg.key.kid}" cannot sign: give it a secret, secretFile or privateKeyFile`);
  return {
    async mint(req) {
      // JSON only: a cross-site form cannot send it without a CORS preflight, which we refuse.
      const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
      if (type !== "application/json") throw new HttpError(415, ErrorCode.IM_ERR_BAD_ARGS, 'send {"id": "<client id>"} as application/json');
      const text = await readBody(req, MAX_DEV_LOGIN_BODY_BYTES);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new HttpError(400, ErrorCode.IM_ERR_BAD_ARGS, 'the body is not JSON; send {"id": "<client id>"}');
      }
      const raw = body !== null && typeof body === "object" && !Array.isArray(body) ? (body as Record<string, unknown>).id : undefined;
      if (typeof raw !== "string") throw new HttpError(400, ErrorCode.IM_ERR_BAD_ARGS, 'send {"id": "<client id>"}');
      let id: string;
      try {
        id = checkClientId(raw);
      } catch (err) {
        throw new HttpError(400, ErrorCode.IM_ERR_BAD_CLIENT_ID, (err as Error).message);
      }
      const token = await mintToken(auth, { sub: id, ttlSec: cfg.tokenTtlSec, kid: cfg.key.kid }, keys);
      return { id, token, exp: Math.floor(Date.now() / 1000) + cfg.tokenTtlSec };
    },
  };
}
