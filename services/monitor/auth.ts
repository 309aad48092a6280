import type { Middleware } from "koa";
import { sameSecret as same } from "../../shared/secret.js";
import type { MonitorConfig } from "./config.js";

type HttpConfig = Pick<MonitorConfig["http"], "token" | "username" | "password">;

const REALM = "FishChat monitor";

export interface Access {
  /** True when any credential is configured. */
  readonly enabled: boolean;
  /** Guards data: the API, the event stream and /metrics. */
  readonly data: Middleware;
  /**
   * Guards the page and its assets. Only basic auth covers them, since a browser cannot attach a
   * bearer token to a page load; the page holds no data and asks for the token itself.
   */
  readonly page: Middleware;
}

/**
 * Access control from monitor.json `http`: a bearer token, basic-auth credentials, both (either
 * is accepted) or neither (open; the listener is then loopback by default).
 */
export function access(cfg: HttpConfig): Access {
  const basic = cfg.username !== "" && cfg.password !== "";
  const bearer = cfg.token !== "";
  const enabled = basic || bearer;

  const allowed = (header: string | undefined): boolean => {
    if (!header) return false;
    const sp = header.indexOf(" ");
    if (sp < 0) return false;
    const scheme = header.slice(0, sp).toLowerCase();
    const value = header.slice(sp + 1).trim();
    if (scheme === "bearer" && bearer) return same(value, cfg.token);
    if (scheme === "basic" && basic) {
      const decoded = Buffer.from(value, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) return false;
      // Evaluate both halves so a wrong user name takes as long as a wrong password.
      const userOk = same(decoded.slice(0, colon), cfg.username);
      const passOk = same(decoded.slice(colon + 1), cfg.password);
      return userOk && passOk;
    }
    return false;
  };

  const guard =
    (required: boolean): Middleware =>
    async (ctx, next) => {
      if (!required || allowed(ctx.get("authorization") || undefined)) return next();
      ctx.status = 401;
      // A Basic challenge makes the browser prompt; with a token only, the page shows its own form.
      ctx.set("WWW-Authenticate", basic ? `Basic realm="${REALM}", charset="UTF-8"` : `Bearer realm="${REALM}"`);
      ctx.set("Cache-Control", "no-store");
      ctx.body = { error: "unauthorized", auth: basic ? "basic" : "bearer" };
    };

  return { enabled, data: guard(enabled), page: guard(basic) };
}
