/**
 * Where the page's token comes from (docs/CLIENTS.md, "The web app"):
 *
 * - `#token=<jwt>` in the address: the embedding app opens the page with it. The page takes it,
 *   removes it from the address (so it is not bookmarked or shared), and keeps it for this tab
 *   in sessionStorage so a reload stays signed in.
 * - postMessage from the frame's parent, when the page is framed by an origin listed in the
 *   gateway's `http.embedOrigins`: the page posts `{type: "fishchat:ready"}` and takes
 *   `{type: "fishchat:token", token}`; before expiry it posts `{type: "fishchat:token-expiring"}`.
 * - The development login (`POST v1/dev-login {"id"}`), only when the gateway has http.devLogin.
 */

export interface ChatConfig {
  devLogin: boolean;
  embedOrigins: string[];
}

export interface SignIn {
  id: string;
  token: string;
  endpoint?: string;
  mode: "dev" | "token" | "embed";
}

const STORE_KEY = "fishchat.signin";

export async function chatConfig(): Promise<ChatConfig> {
  try {
    const res = await fetch("v1/chat-config", { cache: "no-store" });
    if (res.ok) return (await res.json()) as ChatConfig;
  } catch {
    // An older gateway without the route: no dev login, no embedding.
  }
  return { devLogin: false, embedOrigins: [] };
}

/** The `sub` of a JWT, read without verifying (the msg_server verifies); null when it is not one. */
export function tokenSubject(token: string): string | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    const sub = (JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0)))) as { sub?: unknown }).sub;
    return typeof sub === "string" && sub !== "" ? sub : null;
  } catch {
    return null;
  }
}

/** A token handed over in the address (`#token=`), removed from it at once. */
export function takeFragmentToken(): string | null {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  const token = params.get("token");
  if (token === null) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return token;
}

export function remember(s: SignIn): void {
  // Dev logins keep the id only (a fresh token is minted); others keep the token for reloads of this tab.
  sessionStorage.setItem(STORE_KEY, JSON.stringify(s.mode === "dev" ? { mode: "dev", id: s.id } : { mode: s.mode, id: s.id, token: s.token }));
}

export function remembered(): { mode: SignIn["mode"]; id: string; token?: string } | null {
  try {
    const v = JSON.parse(sessionStorage.getItem(STORE_KEY) ?? "null") as { mode?: string; id?: string; token?: string } | null;
    if (v && typeof v.id === "string" && (v.mode === "dev" || v.mode === "token" || v.mode === "embed")) return { mode: v.mode, id: v.id, token: v.token };
  } catch {
    // unreadable: sign in again
  }
  return null;
}

export function forget(): void {
  sessionStorage.removeItem(STORE_KEY);
}

export class SignInError extends Error {}

export async function devLogin(id: string): Promise<SignIn> {
  const res = await fetch("v1/dev-login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ id }), cache: "no-store" });
  const body = (await res.json().catch(() => ({}))) as { id?: string; token?: string; endpoint?: { ws: string | null } | null; error?: { message?: string } };
  if (!res.ok || !body.token || !body.id) throw new SignInError(body.error?.message ?? `the gateway answered ${res.status}`);
  return { id: body.id, token: body.token, endpoint: body.endpoint?.ws ?? undefined, mode: "dev" };
}

/** The parent's origin when this page is framed by one of `allowed`, else null. */
export function embedder(allowed: readonly string[]): string | null {
  if (window.parent === window || allowed.length === 0) return null;
  const ancestors = (location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;
  let origin = ancestors && ancestors.length > 0 ? ancestors[0] : null;
  if (!origin && document.referrer) {
    try {
      origin = new URL(document.referrer).origin;
    } catch {
      origin = null;
    }
  }
  return origin && allowed.includes(origin) ? origin : null;
}

/** Tokens posted by the embedding app; `next()` resolves with the next one (or null after timeoutMs). */
export class EmbedChannel {
  private waiting: ((t: string | null) => void)[] = [];

  constructor(readonly origin: string) {
    window.addEventListener("message", (e: MessageEvent) => {
      if (e.origin !== origin || e.source !== window.parent) return;
      const d = e.data as { type?: unknown; token?: unknown } | null;
      if (d?.type !== "fishchat:token" || typeof d.token !== "string") return;
      for (const w of this.waiting.splice(0)) w(d.token as string);
    });
  }

  post(type: "fishchat:ready" | "fishchat:token-expiring" | "fishchat:signed-out", extra: Record<string, unknown> = {}): void {
    window.parent.postMessage({ type, ...extra }, this.origin);
  }

  next(timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      const done = (t: string | null) => {
        window.clearTimeout(timer);
        resolve(t);
      };
      const timer = window.setTimeout(() => {
        this.waiting = this.waiting.filter((w) => w !== done);
        resolve(null);
      }, timeoutMs);
      this.waiting.push(done);
    });
  }
}
