/**
 * An in-process msg_server core (test/support/core.ts) with a real WebSocket listener on a free
 * loopback port: WsTransport, Connection and the JSON dialect over real sockets, without child
 * processes.
 */
import type { TestContext } from "node:test";
import { parseConfig } from "../../shared/config/load-config.js";
import { JSON_DIALECT } from "../../shared/protocol/json-dialect.js";
import { wsListenerSchema } from "../../services/msg_server/config.js";
import { listenWs, type WsListener } from "../../services/msg_server/ws-listener.js";
import { FILES_PATH, filesHandler } from "../../services/msg_server/files-http.js";
import { type CoreHarness, startCore } from "./core.js";
import { TEST_ORIGIN, type WsClientOptions, WsChatClient } from "./ws-client.js";

export interface WsCoreHarness extends CoreHarness {
  listener: WsListener;
  url: string;
  /** A WebSocket client connected (not logged in). */
  open(o?: WsClientOptions): Promise<WsChatClient>;
  /** A WebSocket client logged in as id. */
  wsLogin(id: string, o?: WsClientOptions): Promise<WsChatClient>;
}

export async function startWsCore(
  t: TestContext,
  o: { conf?: Record<string, unknown>; ws?: Record<string, unknown>; start?: boolean; files?: boolean } = {},
): Promise<WsCoreHarness> {
  const h = await startCore(t, { conf: o.conf });
  const cfg = parseConfig("test ws", { listen: "127.0.0.1:0", allowedOrigins: [TEST_ORIGIN], ...o.ws }, wsListenerSchema);
  const listener = await listenWs({
    cfg,
    maxPayloadBytes: h.core.cfg.maxLineBytes,
    idleTimeoutMs: h.core.cfg.idleTimeoutMs,
    advertiseHost: "127.0.0.1",
    log: h.logs.log,
    onTransport: (tr) => h.core.handleTransport(tr, JSON_DIALECT),
    // The HTTP file endpoints, as main.ts mounts them, when the test asks.
    ...(o.files ? { onHttp: filesHandler({ cfg: h.core.cfg, store: h.store, auth: h.core.auth, allowedOrigins: cfg.allowedOrigins, log: h.logs.log }) } : {}),
  });
  if (o.files) h.core.filesUrl = `${listener.httpOrigin}${FILES_PATH}`;
  // Timers (idle sweeper) only when the test asks: most tests drive the core without them.
  if (o.start) h.core.start();
  const clients: WsChatClient[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await listener.close();
  });
  const open = async (co: WsClientOptions = {}) => {
    const c = await WsChatClient.open(listener.url, co);
    clients.push(c);
    return c;
  };
  return {
    ...h,
    listener,
    url: listener.url,
    open,
    async wsLogin(id, co) {
      const c = await open(co);
      await c.login(id, await h.token(id));
      return c;
    },
  };
}
