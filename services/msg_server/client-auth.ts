import { decodeJwt } from "jose";
import type { Logger } from "../../shared/log/logger.js";
import type { ClientAuthConfig } from "../../shared/auth/config.js";
import { TokenRejected, TokenVerifier, type VerifiedToken } from "../../shared/auth/token-verifier.js";
import { RevocationCache, type Revocation, type RevocationList } from "../../shared/bus/revocations.js";
import { AuthError, ErrorCode, RateLimitedError } from "../../shared/errors.js";
import type { LimitsConfig } from "../../shared/limits/config.js";
import { createAddressLimits, type AddressLimits } from "../../shared/limits/address-limiters.js";

/** How often the whole revocation list is re-read, to catch events pub/sub dropped and forget expired entries. */
const REVOCATION_RELOAD_MS = 30_000;

/** The one message of every failed login, whatever the reason: an attacker learns nothing from it. */
const FAILED = "authentication failed";

/**
 * Who may log in as whom. In "token" mode a login must carry a signed token whose `sub` is the
 * client id, checked in memory (TokenVerifier; no Redis or store round trip), not revoked
 * (RevocationCache, an in-memory mirror of the cluster's list), from an address that is not
 * guessing (failed attempts per address are limited, logins per address too).
 * "none" exists for FishChatServer v1 clients, which cannot send a token.
 */
export class ClientAuth {
  readonly revoked = new RevocationCache();
  readonly addresses: AddressLimits;
  private timer: NodeJS.Timeout | null = null;
  private onRevoked: (r: Revocation) => void = () => undefined;

  private constructor(
    readonly cfg: ClientAuthConfig,
    private readonly verifier: TokenVerifier | null,
    limits: LimitsConfig,
    private readonly list: RevocationList,
    private readonly log: Logger,
  ) {
    this.addresses = createAddressLimits(limits);
  }

  static async create(cfg: ClientAuthConfig, limits: LimitsConfig, list: RevocationList, log: Logger): Promise<ClientAuth> {
    const verifier = cfg.mode === "token" ? await TokenVerifier.create(cfg, log) : null;
    if (cfg.mode === "none") log.warn("clientAuth.mode is \"none\": any client may log in as any id (for FishChatServer v1 clients only)");
    return new ClientAuth(cfg, verifier, limits, list, log);
  }

  get mode(): ClientAuthConfig["mode"] {
    return this.cfg.mode;
  }

  /** Load the revocation list and follow it; `onRevoked` closes the live sessions a revocation names. */
  async start(onRevoked: (r: Revocation) => void): Promise<void> {
    this.onRevoked = onRevoked;
    if (this.mode !== "token") return;
    await this.list.watch((r) => {
      this.revoked.apply(r);
      this.onRevoked(r);
    });
    await this.reloadRevocations();
    this.timer = setInterval(() => void this.reloadRevocations(), REVOCATION_RELOAD_MS);
    this.timer.unref();
  }

  private async reloadRevocations(): Promise<void> {
    try {
      const all = await this.list.all();
      this.revoked.replace(all);
      for (const r of all) this.onRevoked(r);
    } catch (err) {
      this.log.debug({ err }, "revocation list reload failed (Redis down?); keeping the last one");
    }
  }

  /**
   * Check a login (or a token refresh) from `addr` as `id`. Returns the verified token, or null in
   * "none" mode. Throws AuthError(IM_ERR_AUTH_FAILED) for every kind of failure, and
   * RateLimitedError when the address logs in too often.
   */
  async check(id: string, token: string | undefined, addr: string): Promise<VerifiedToken | null> {
    const retry = await this.addresses.logins.attempt(addr);
    if (retry > 0) throw new RateLimitedError(`too many logins from your address; retry after ${retry} ms`, retry);
    if (!this.verifier) return null;
    return this.verify(this.verifier, id, token, addr);
  }

  /**
   * An HTTP request's bearer token (file endpoints): the same checks as a login (signature,
   * expiry, revocation, the address's failed attempts), for the client the token names. Not
   * counted as a login: a page loading thumbnails makes many requests. Throws
   * AuthError(IM_ERR_AUTH_FAILED) for every failure, and in mode "none", where nobody can prove
   * an identity.
   */
  async checkBearer(token: string | undefined, addr: string): Promise<{ clientId: string; token: VerifiedToken }> {
    if (!this.verifier) throw new AuthError(ErrorCode.IM_ERR_AUTH_FAILED, FAILED);
    let sub: unknown;
    try {
      // Only to learn whom the token claims to be; verify() below checks the claim.
      sub = token ? decodeJwt(token).sub : undefined;
    } catch {
      sub = undefined;
    }
    const id = typeof sub === "string" && sub.length > 0 ? sub : "?";
    return { clientId: id, token: await this.verify(this.verifier, id, token, addr) };
  }

  private async verify(verifier: TokenVerifier, id: string, token: string | undefined, addr: string): Promise<VerifiedToken> {
    const blocked = await this.addresses.failedAuth.blockedFor(addr);
    if (blocked > 0) {
      this.log.warn({ addr, clientId: id, blockedMs: blocked }, "login refused: address blocked after failed attempts");
      throw new AuthError(ErrorCode.IM_ERR_AUTH_FAILED, FAILED);
    }
    try {
      if (!token) throw new TokenRejected("missing_claim", "no token given");
      const v = await verifier.verify(id, token);
      const rev = this.revoked.match(v);
      if (rev) throw new TokenRejected("bad_claim", `token revoked (${rev.kind} ${rev.key})`);
      return v;
    } catch (err) {
      if (!(err instanceof TokenRejected)) throw err;
      await this.addresses.failedAuth.recordFailure(addr);
      // The reason goes to the log only; the token itself never does.
      this.log.warn({ addr, clientId: id, reason: err.reason, detail: err.detail }, "login refused");
      throw new AuthError(ErrorCode.IM_ERR_AUTH_FAILED, FAILED);
    }
  }

  /** SIGHUP: re-read key files and the JWKS file. */
  async reload(): Promise<void> {
    await this.verifier?.reload();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
