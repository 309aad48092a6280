import test from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import type { FishChatClient } from "../../shared/client/client.js";
import { startCluster, type Cluster, type ServiceProc } from "../support/cluster.js";
import { freePort, sleep, waitFor } from "../support/ports.js";

/**
 * The dashboard in Debian's chromium against a real cluster. What this can show: the page built by
 * scripts/build-ui.mjs loads from the monitor alone, renders the live stream, and reflects logins
 * and a crash. What it cannot: pixel-level rendering (the screenshot is for people to look at).
 */

const CHROMIUM = "/usr/bin/chromium";
const REPO = resolve(import.meta.dirname, "../../..");
const ARTIFACTS = join(REPO, "test-artifacts");
const README_IMAGE = join(REPO, "docs", "img", "dashboard.png");
const haveChromium = existsSync(CHROMIUM);

async function launch(t: { after(fn: () => Promise<void> | void): void }): Promise<Page> {
  const profile = mkdtempSync(join(tmpdir(), "fc-chromium-"));
  const ctx: BrowserContext = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1440, height: 900 },
  });
  t.after(async () => {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return ctx.pages()[0] ?? (await ctx.newPage());
}

const SESSIONS = '[data-testid="total-sessions"] [data-value]';
const sessionsShown = async (page: Page) => Number((await page.locator(SESSIONS).textContent())?.replace(/,/g, ""));

test(
  haveChromium ? "dashboard: live cluster view in chromium" : `dashboard: skipped, ${CHROMIUM} is not installed (apt-get install -y chromium)`,
  { skip: !haveChromium, timeout: 90_000 },
  async (t) => {
    const cl = await startCluster(t, { msgServers: 2, manager: true, monitor: true });
    const page = await launch(t);
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    try {
      await checkDashboard(t, page, cl);
    } catch (err) {
      // The page as it was when the check failed: usually says more than the assertion.
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-failure.png"), fullPage: true }).catch(() => undefined);
      throw err;
    }
    assert.deepEqual(problems, [], "no console errors, page errors or failed requests");
  },
);

async function checkDashboard(t: { after(fn: () => void): void }, page: Page, cl: Cluster): Promise<void> {
  const [a, b] = cl.msgServers as [ServiceProc, ServiceProc];
  await page.goto(`http://127.0.0.1:${cl.monitorHttpPort}/`);
  await page.locator('[data-testid="stream-state"]', { hasText: "Live" }).waitFor({ timeout: 10_000 });

  // Both msg_servers up, each with its own card.
  for (const ms of [a, b]) {
    await page.locator(`tr[data-key="msg_server:${ms.addr}"][data-status="up"]`).waitFor({ timeout: 10_000 });
    await page.locator(`article[data-server="${ms.addr}"]`).waitFor();
  }
  for (const role of ["gateway", "router", "manager", "monitor"]) {
    assert.equal(await page.locator(`tr[data-key^="${role}:"][data-status="up"]`).count(), 1, `${role} row up`);
  }
  // Redis and the store have cards of their own.
  await page.locator('[data-testid="component-redis"][data-status="up"]').waitFor({ timeout: 10_000 });
  await page.locator('[data-testid="component-store"][data-status="up"]').waitFor({ timeout: 10_000 });
  assert.match((await page.locator('[data-testid="component-redis"]').textContent()) ?? "", new RegExp(`127\\.0\\.0\\.1:${cl.redis.port}[\\s\\S]*PING`));
  // Every row says why it has its status (the Details column is never empty).
  for (const reason of await page.locator('#processes [data-testid="reason"]').allTextContents()) assert.ok(reason.trim().length > 5, `reason: ${JSON.stringify(reason)}`);
  const before = await sessionsShown(page);
  assert.equal(before, 0);

  // Log clients in on both servers, with some traffic, and watch the count rise.
  const clients: FishChatClient[] = [];
  for (let i = 0; i < 6; i++) clients.push(await cl.client(`web${i}`, { via: i % 3 === 0 ? b.addr : a.addr, heartbeatMs: 1000 }));
  await page.locator(SESSIONS, { hasText: /^6$/ }).waitFor({ timeout: 10_000 });
  assert.equal(await sessionsShown(page), 6);
  // Client connections only: the router's, manager's and monitor's links to each server are not counted.
  await page.locator('[data-testid="total-sessions"] .kpi-note', { hasText: /^6 client connections$/ }).waitFor({ timeout: 5000 });
  assert.equal(await page.locator(`tr[data-key="msg_server:${b.addr}"]`).getAttribute("data-status"), "up");
  const traffic = setInterval(() => {
    for (let i = 0; i < 3; i++) void clients[i]!.sendP2P(`web${i + 1}`, "hello").catch(() => undefined);
  }, 40);
  t.after(() => clearInterval(traffic));
  await sleep(6000); // a few samples of traffic, so the charts have lines to show
  await waitFor("a message rate", async () => Number(await page.locator('[data-testid="total-msgs-in"] [data-value]').textContent()) > 0, 5000);
  assert.equal(await page.locator(".chart-empty:visible").count(), 0, "every chart has data");
  const text = (await page.locator("main").textContent()) ?? "";
  assert.doesNotMatch(text, /(^|[^\d,.])1 (sessions|client connections|connections|links|topics|errors|live msg_servers)\b/, "singular after 1");
  await page.screenshot({ path: join(ARTIFACTS, "dashboard.png"), fullPage: true });
  // The README's image is refreshed on request only, so a test run leaves the work tree clean.
  if (process.env.FISHCHAT_UPDATE_SCREENSHOT === "1") {
    mkdirSync(join(REPO, "docs", "img"), { recursive: true });
    copyFileSync(join(ARTIFACTS, "dashboard.png"), README_IMAGE);
  }

  // Redis down: its card says so in words, every process turns stale, nothing in the page is green.
  await cl.redis.kill();
  // (For a moment it may say the connection was closed; then the re-dial is refused.)
  const redisCard = page.locator('[data-testid="component-redis"][data-status="down"]', { hasText: "refuses connections" });
  await redisCard.waitFor({ timeout: 8000 });
  assert.match((await redisCard.locator('[data-testid="reason"]').textContent()) ?? "", new RegExp(`^Redis at 127\\.0\\.0\\.1:${cl.redis.port} refuses connections`));
  await waitFor("every row stale", async () => (await page.locator("#processes tr[data-status]").count()) === (await page.locator('#processes tr[data-status="stale"]').count()), 8000);
  // No process is shown up; the store, which works without Redis, may well be.
  assert.equal(await page.locator("#processes .pill-up, #servers .pill-up").count(), 0, "no process green while Redis is down");
  assert.match((await page.locator('[data-testid="banner-registry"]').textContent()) ?? "", /refuses connections/);
  assert.doesNotMatch((await page.locator("main").textContent()) ?? "", /ECONNREFUSED|Stream isn't writeable|max retries/);
  await page.locator('[data-testid="component-store"][data-status="up"]').waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "dashboard-redis-down.png"), fullPage: true });
  await cl.redis.restart();
  await page.locator('[data-testid="component-redis"][data-status="up"]').waitFor({ timeout: 10_000 });
  await waitFor("every row up again", async () => (await page.locator('#processes tr[data-status="up"]').count()) === 6, 15_000);

  // Kill one msg_server: its row and card turn down, and the count drops to what is left.
  const killedAt = Date.now();
  await b.kill();
  await page.locator(`tr[data-key="msg_server:${b.addr}"][data-status="down"]`).waitFor({ timeout: 8000 });
  const tookMs = Date.now() - killedAt;
  assert.ok(tookMs < 6000, `shown down after ${tookMs} ms`);
  await page.locator(`article[data-server="${b.addr}"].down`).waitFor();
  await page.locator(SESSIONS, { hasText: /^4$/ }).waitFor({ timeout: 5000 });
  assert.equal(await page.locator(`tr[data-key="msg_server:${a.addr}"]`).getAttribute("data-status"), "up");
  await page.screenshot({ path: join(ARTIFACTS, "dashboard-down.png"), fullPage: true });
}

test(
  haveChromium ? "dashboard: asks for the token when the monitor has one" : `dashboard token: skipped, ${CHROMIUM} is not installed`,
  { skip: !haveChromium, timeout: 45_000 },
  async (t) => {
    const port = await freePort();
    const token = "browser-test-token";
    const cl = await startCluster(t, { msgServers: 1, gateway: false, router: false, monitor: true, conf: { monitor: { http: { host: "127.0.0.1", port, token } } } });
    const page = await launch(t);
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator('[data-testid="auth"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('[data-testid="stream-state"]').textContent(), "Locked");

    await page.locator('[data-testid="auth"] input').fill("not-the-token");
    await page.locator('[data-testid="auth"] button').click();
    await page.locator('[data-testid="auth"]', { hasText: "was not accepted" }).waitFor({ timeout: 10_000 });

    // The #token= link form: the token is taken and removed from the address.
    await page.goto(`http://127.0.0.1:${port}/#token=${token}`);
    await page.locator(`tr[data-key="msg_server:${cl.msgServers[0]!.addr}"][data-status="up"]`).waitFor({ timeout: 10_000 });
    assert.equal(new URL(page.url()).hash, "");
    assert.deepEqual(errors, []);
  },
);
