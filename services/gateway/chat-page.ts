import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { join, resolve } from "node:path";

/** Built by scripts/build-ui.mjs; this file runs as dist/services/gateway/chat-page.js. */
export const DEFAULT_CHAT_UI_DIR = resolve(import.meta.dirname, "../../../services/chat-ui/dist");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/** The page's files are flat in its dist directory: a name is one segment of these characters, so no path can climb out. */
const ASSET = /^\/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/;

/**
 * The page's policy. Scripts and styles come from this origin only (nothing external at run time);
 * the WebSocket and the file downloads go to the msg_servers, which are other origins, so
 * connect-src names schemes; images and audio are blob: URLs of downloaded attachments.
 */
function contentSecurityPolicy(embedOrigins: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' blob: data:",
    "media-src 'self' blob:",
    "connect-src 'self' ws: wss: http: https:",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${embedOrigins.length > 0 ? embedOrigins.join(" ") : "'none'"}`,
  ].join("; ");
}

export interface ChatPage {
  /** True when the path is the page or one of its files (then the answer has been sent). */
  serve(path: string, method: string, res: ServerResponse): Promise<boolean>;
}

/**
 * Serves services/chat-ui/dist at `/`: index.html for `/`, the bundle and styles by name. Files
 * are read per request (they are small, and a rebuild shows without a restart). Not built yet:
 * 503 naming the command, as the monitor does for its dashboard.
 */
export function chatPage(o: { dir?: string; embedOrigins: readonly string[] }): ChatPage {
  const dir = o.dir ?? DEFAULT_CHAT_UI_DIR;
  const csp = contentSecurityPolicy(o.embedOrigins);
  return {
    async serve(path, method, res) {
      const name = path === "/" || path === "/index.html" ? "index.html" : ASSET.exec(path)?.[1];
      if (name === undefined || name.includes("..")) return false;
      const ext = name.slice(name.lastIndexOf("."));
      const type = TYPES[ext];
      if (!type) return false;
      if (method !== "GET" && method !== "HEAD") {
        res.writeHead(405, { Allow: "GET", "Content-Type": "text/plain; charset=utf-8" }).end("GET only\n");
        return true;
      }
      let body: Buffer;
      try {
        body = await readFile(join(dir, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        if (name !== "index.html") return false;
        const text = "The chat page is not built: run `npm run build` (or `node scripts/build-ui.mjs`) and reload.\n";
        res.writeHead(503, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" }).end(text);
        return true;
      }
      res.writeHead(200, {
        "Content-Type": type,
        "Content-Length": body.length,
        // The page is small and changes with each build: revalidate rather than serve a stale bundle.
        "Cache-Control": "no-cache",
        "Content-Security-Policy": csp,
        "Referrer-Policy": "no-referrer",
      });
      res.end(method === "HEAD" ? undefined : body);
      return true;
    },
  };
}
