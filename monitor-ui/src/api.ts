import type { HistoryResponse, Overview } from "../../services/monitor/api-types.js";

/** The API answered 401: credentials are missing or wrong. */
export class AuthRequired extends Error {
  constructor(readonly scheme: "basic" | "bearer") {
    super("authentication required");
  }
}

const TOKEN_KEY = "fishchat-monitor-token";

/**
 * The bearer token, if the monitor asks for one. Taken once from `#token=...` in the address (then
 * removed from it, so it does not stay in the history) and kept for this browser tab only.
 */
export function token(): string | null {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(t: string): void {
  sessionStorage.setItem(TOKEN_KEY, t);
}

export function authHeaders(): HeadersInit {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

/** Basic-auth credentials, once the browser has them, are sent by the browser itself (same origin). */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: authHeaders(), cache: "no-store", signal });
  if (res.status === 401) throw new AuthRequired(res.headers.get("www-authenticate")?.startsWith("Basic") ? "basic" : "bearer");
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export const fetchOverview = (signal?: AbortSignal) => getJson<Overview>("api/overview", signal);

export const fetchHistory = (sinceMs: number, signal?: AbortSignal) => getJson<HistoryResponse>(`api/history?since=${Math.floor(sinceMs)}`, signal);
