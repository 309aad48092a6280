import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import test from "node:test";
import { signature, Webhook } from "../../../services/api/webhook.js";
import { captureLogger } from "../../support/log-sink.js";
import { waitFor } from "../../support/ports.js";

const SECRET = "unit-webhook-secret-0123456789abcdef";

/** A real HTTP receiver answering the statuses given in turn (then 200). */
async function receiver(t: test.TestContext, statuses: number[]) {
  const got: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.writeHead(statuses.shift() ?? 200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, got };
}

const opts = (url: string, o: Partial<ConstructorParameters<typeof Webhook>[0]> = {}) => ({
  url,
  secret: SECRET,
  events: ["login", "logout", "message.offline"] as const,
  timeoutMs: 2000,
  maxAttempts: 4,
  retryMinMs: 20,
  retryMaxMs: 80,
  concurrency: 1,
  maxQueue: 100,
  maxQueueBytes: 1 << 20,
  log: captureLogger("silent").log,
  ...o,
});

test("webhook: signed POST, retried on 503 until delivered, dropped on 400", async (t) => {
  const r = await receiver(t, [503, 503, 200, 400]);
  const w = new Webhook(opts(r.url));
  t.after(() => w.stop());
  assert.ok(w.emit("login", { user: "alice" }));
  await waitFor("delivered after two failures", () => w.counts.delivered === 1);
  assert.equal(r.got.length, 3);
  const last = r.got[2]!;
  const ts = String(last.headers["x-fishchat-timestamp"]);
  assert.equal(last.headers["x-fishchat-signature"], signature(SECRET, ts, last.body));
  assert.equal(last.headers["x-fishchat-event"], "login");
  const event = JSON.parse(last.body) as { id: string; type: string; data: unknown };
  assert.equal(last.headers["x-fishchat-delivery"], event.id);
  assert.deepEqual(event.data, { user: "alice" });
  assert.equal(new Set(r.got.map((g) => JSON.parse(g.body).id)).size, 1, "retries carry the same event id");
  w.emit("logout", { user: "alice" });
  await waitFor("a 400 is not retried", () => w.counts.dropped === 1);
  assert.equal(r.got.length, 4);
});

test("webhook: gives up after maxAttempts; unwanted events are not queued; the queue is bounded", async (t) => {
  const r = await receiver(t, [500, 500, 500, 500, 500]);
  const w = new Webhook(opts(r.url, { events: ["login"], maxQueue: 2 }));
  t.after(() => w.stop());
  assert.equal(w.emit("logout", { user: "x" }), false, "not subscribed");
  assert.ok(w.emit("login", { user: "a" }));
  await waitFor("dropped after 4 attempts", () => w.counts.dropped === 1, 5000);
  assert.equal(r.got.length, 4);
  const small = new Webhook(opts("http://127.0.0.1:9/", { concurrency: 1, maxQueue: 10, maxQueueBytes: 300, retryMinMs: 10_000, retryMaxMs: 10_000 }));
  t.after(() => small.stop());
  const accepted = Array.from({ length: 10 }, (_, i) => small.emit("login", { user: `u${i}` })).filter(Boolean).length;
  assert.ok(accepted >= 1 && accepted < 10, `${accepted} of 10 accepted within 300 bytes`);
  assert.equal(small.counts.dropped, 10 - accepted);
});
