/**
 * Link against a real msg_server core listening on a real TCP port in this process: AUTH,
 * subscription, refusal of a wrong secret, and re-dialling after the server goes away.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { Link } from "../../../shared/net/link.js";
import { listenTcp, type TcpServer } from "../../../shared/net/tcp-server.js";
import { TcpTransport } from "../../../shared/net/tcp-transport.js";
import { Channel, type Command } from "../../../shared/protocol/commands.js";
import { CORE_SECRET, startCore } from "../../support/core.js";
import { captureLogger } from "../../support/log-sink.js";
import { freePort, waitFor } from "../../support/ports.js";

function link(addr: string, secret: string, got: Command[], log = captureLogger()) {
  const l = new Link({
    addr,
    log: log.log,
    limits: { maxLineBytes: 65536, maxFrameBytes: 65536 },
    secret,
    channels: [Channel.CLIENT_STATUS],
    subscriberId: "unit",
    reconnectMinMs: 20,
    reconnectMaxMs: 100,
    onCommand: (_l, cmd) => got.push(cmd),
  });
  l.start();
  return { l, log };
}

test("a link authenticates, subscribes and receives channel messages; it re-dials after the server goes away", async (t) => {
  const h = await startCore(t);
  const port = await freePort();
  const serve = () => listenTcp(`127.0.0.1:${port}`, (s) => h.core.handleTransport(new TcpTransport(s)));
  let server: TcpServer = await serve();
  const got: Command[] = [];
  const { l } = link(`127.0.0.1:${port}`, CORE_SECRET, got);
  t.after(async () => {
    l.stop();
    await server.close();
  });
  await waitFor("link up", () => l.isUp, 3000);
  assert.equal(l.connects, 1);
  await h.login("alice");
  await waitFor("session event", () => got.some((c) => c.name === "CACHE_SESSION" && c.args[0] === "alice"), 3000);

  await server.close(); // destroys every open socket, ours included
  await waitFor("link down", () => !l.isUp, 3000);
  server = await serve();
  await waitFor("link up again", () => l.isUp, 5000);
  assert.equal(l.connects, 2);
  // The new subscription starts with a snapshot of who is online (level-triggered state).
  await waitFor("snapshot after re-dial", () => got.filter((c) => c.name === "CACHE_SESSION" && c.args[0] === "alice").length === 2, 3000);
});

test("a wrong cluster secret never brings the link up; the refusal is logged, the secret is not", async (t) => {
  const h = await startCore(t);
  const port = await freePort();
  const server = await listenTcp(`127.0.0.1:${port}`, (s) => h.core.handleTransport(new TcpTransport(s)));
  const got: Command[] = [];
  const { l, log } = link(`127.0.0.1:${port}`, "not-the-secret", got);
  t.after(async () => {
    l.stop();
    await server.close();
  });
  await waitFor("refusal logged", () => log.text().includes("IM_ERR_AUTH_FAILED"), 3000);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(l.isUp, false);
  assert.equal(l.connects, 0);
  assert.ok(!log.text().includes("not-the-secret"), "the secret never reaches the log");
  assert.ok(!h.logs.text().includes("not-the-secret"));
});
