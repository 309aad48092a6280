import test from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { deflateSync } from "node:zlib";
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from "playwright-core";
import { startCluster, type Cluster, type ServiceProc } from "../support/cluster.js";
import { waitFor } from "../support/ports.js";

/**
 * The chat page (services/chat-ui, served by the gateway) in Debian's chromium, against a real
 * cluster of two msg_servers: every user is its own browser context (own storage, own
 * WebSocket), signed in with the development login. What this shows: the page as people use it
 * (clicks, typing, file pickers, the microphone through Chromium's fake device) talks the real
 * protocol across servers, and survives a msg_server dying. What it cannot: how it looks (the
 * screenshots in docs/img are for people), other browsers.
 */

const CHROMIUM = "/usr/bin/chromium";
const REPO = resolve(import.meta.dirname, "../../..");
const ARTIFACTS = join(REPO, "test-artifacts");
const haveChromium = existsSync(CHROMIUM);

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  // The microphone: a generated tone, and no permission prompt.
  "--use-fake-device-for-media-stream",
  "--use-fake-ui-for-media-stream",
  // The voice note is started by the test, not by a click on the player.
  "--autoplay-policy=no-user-gesture-required",
];

/** The parts of <img> and <audio> the checks read (the test's tsconfig has no DOM lib). */
interface ImgLike {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
}
interface AudioLike {
  src: string;
  currentTime: number;
  ended: boolean;
  error: unknown;
  play(): Promise<void>;
}

/** Records, in the page, every text the offline banner shows: it may be up for less than a second. */
const WATCH_BANNER = `(() => {
  window.banners = [];
  const b = document.getElementById("banner");
  new MutationObserver(() => { if (!b.hidden) window.banners.push(b.textContent || ""); })
    .observe(b, { attributes: true, childList: true, subtree: true, characterData: true });
})()`;

interface User {
  id: string;
  ctx: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests, each with the time it happened. */
  problems: { at: number; text: string }[];
}

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 780 };

async function signIn(browser: Browser, cl: Cluster, id: string, viewport = DESKTOP): Promise<User> {
  const ctx = await browser.newContext({ viewport, acceptDownloads: true, permissions: ["microphone"] });
  const page = await ctx.newPage();
  const problems: User["problems"] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push({ at: Date.now(), text: `console: ${m.text()}` });
  });
  page.on("pageerror", (e) => problems.push({ at: Date.now(), text: `page error: ${e.message}` }));
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push({ at: Date.now(), text: `HTTP ${r.status()} for ${r.url()}` });
  });
  await page.goto(`http://127.0.0.1:${cl.gatewayHttpPort}/`);
  await page.locator("#signin-id").fill(id);
  await page.getByRole("button", { name: "Sign in" }).click();
  await online(page);
  assert.equal(await page.getByTestId("me").textContent(), id);
  return { id, ctx, page, problems };
}

const online = (page: Page) => page.locator('[data-testid="conn-state"][data-state="online"]').waitFor({ timeout: 15_000 });
/** The msg_server a page is connected to: the port of its WebSocket URL. */
const wsPort = async (u: User) => Number(new URL((await u.page.getByTestId("conn-state").getAttribute("data-endpoint")) ?? "").port);

async function write(u: User, text: string): Promise<void> {
  await u.page.getByTestId("composer").fill(text);
  await u.page.getByTestId("composer").press("Enter");
}

function msg(u: User, text: string): Locator {
  return u.page.locator('[data-testid="msg"]', { has: u.page.locator('[data-testid="msg-text"]', { hasText: new RegExp(`^${text}$`) }) });
}

const item = (u: User, key: string) => u.page.locator(`.conv-item[data-conv="${key}"]`);

async function startChat(u: User, peer: string): Promise<void> {
  await u.page.locator("#new-chat-id").fill(peer);
  await u.page.locator("#new-chat-id").press("Enter");
  await u.page.getByTestId("thread-name").filter({ hasText: peer }).waitFor();
}

/** A PNG of w x h pixels with a gradient (so a thumbnail is a real downscale, not a copy). */
function png(w: number, h: number): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (b: Buffer) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  const rows = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    const o = y * (w * 3 + 1);
    for (let x = 0; x < w; x++) rows.set([Math.round((x / w) * 255), Math.round((y / h) * 255), 160], o + 1 + x * 3);
  }
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0))]);
}

async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.mouse.move(0, 0); // no hover highlight in the picture
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  // The README's images are refreshed on request only, so a test run leaves the work tree clean.
  if (process.env.FISHCHAT_UPDATE_SCREENSHOT === "1") copyFileSync(join(ARTIFACTS, `${name}.png`), join(REPO, "docs", "img", `${name}.png`));
}

test(
  haveChromium ? "chat page: people chatting in chromium across two msg_servers" : `chat page: skipped, ${CHROMIUM} is not installed (apt-get install -y chromium)`,
  { skip: !haveChromium, timeout: 240_000 },
  async (t) => {
    const cl = await startCluster(t, { msgServers: 2, chat: true });
    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    t.after(() => browser.close());
    const users: User[] = [];
    /** Problems a step expects (a WebSocket to the msg_server it killed), by the page's text. */
    const expected: RegExp[] = [];
    const stepFailed = async (name: string, u: User[]) => {
      for (const x of u) await x.page.screenshot({ path: join(ARTIFACTS, `chat-failure-${name}-${x.id}.png`) }).catch(() => undefined);
    };
    const step = (name: string, fn: () => Promise<void>) =>
      t.test(name, async () => {
        try {
          await fn();
        } catch (err) {
          mkdirSync(ARTIFACTS, { recursive: true });
          await stepFailed(name.split(" ")[0]!, users);
          throw err;
        }
      });

    let alice!: User;
    let bob!: User;
    let carol!: User;

    await step("two users on different msg_servers chat both ways", async () => {
      alice = await signIn(browser, cl, "alice");
      bob = await signIn(browser, cl, "bob");
      users.push(alice, bob);
      assert.notEqual(await wsPort(alice), await wsPort(bob), "alice and bob are on different msg_servers");
      assert.deepEqual(new Set([await wsPort(alice), await wsPort(bob)]), new Set(cl.wsPorts));

      await startChat(alice, "bob");
      await write(alice, "hello bob");
      // Sent once the server's OK is back.
      await msg(alice, "hello bob").locator('[data-testid="delivery"][data-state="sent"], [data-testid="delivery"][data-state="read"]').waitFor();
      await item(bob, "p2p:alice").click();
      await msg(bob, "hello bob").waitFor();
      // bob has it on screen: alice sees it read.
      await msg(alice, "hello bob").locator('[data-testid="delivery"][data-state="read"]').waitFor({ timeout: 20_000 });
      await write(bob, "hi alice, from the other server");
      await msg(alice, "hi alice, from the other server").waitFor();
      assert.equal(await msg(alice, "hi alice, from the other server").getAttribute("data-from"), "bob");
      // Presence: each sees the other online.
      await alice.page.locator('[data-testid="peer-presence"]', { hasText: "online" }).waitFor({ timeout: 20_000 });
      await item(bob, "p2p:alice").locator('[data-testid="presence"][data-online="true"]').waitFor({ timeout: 20_000 });
    });

    await step("the unread badge appears and clears", async () => {
      // bob looks at another conversation; alice writes twice.
      await startChat(bob, "dave");
      await write(alice, "are you there?");
      await write(alice, "second one");
      const badge = item(bob, "p2p:alice").getByTestId("unread");
      await badge.filter({ hasText: /^2$/ }).waitFor({ timeout: 20_000 });
      assert.equal(await badge.getAttribute("aria-label"), "2 unread");
      assert.equal(await bob.page.title(), "(2) FishChat");
      // The count is the server's, not the page's: a reload shows it again.
      await bob.page.reload();
      await online(bob.page);
      await item(bob, "p2p:alice").getByTestId("unread").filter({ hasText: /^2$/ }).waitFor({ timeout: 20_000 });
      assert.equal(await msg(alice, "second one").locator('[data-testid="delivery"]').getAttribute("data-state"), "sent", "not read yet");
      await item(bob, "p2p:alice").click();
      await msg(bob, "second one").waitFor();
      await item(bob, "p2p:alice").getByTestId("unread").waitFor({ state: "detached" });
      assert.equal(await bob.page.title(), "FishChat");
      await msg(alice, "second one").locator('[data-testid="delivery"][data-state="read"]').waitFor({ timeout: 20_000 });
      // Read stays read after a reload.
      await bob.page.reload();
      await online(bob.page);
      await item(bob, "p2p:alice").waitFor();
      assert.equal(await item(bob, "p2p:alice").getByTestId("unread").count(), 0);
    });

    await step("a topic room with three users", async () => {
      carol = await signIn(browser, cl, "carol", PHONE);
      users.push(carol);
      await alice.page.getByRole("button", { name: "Rooms" }).click();
      await alice.page.locator("#room-name").fill("crew");
      await alice.page.getByRole("button", { name: "Create room" }).click();
      await alice.page.getByTestId("thread-name").filter({ hasText: "# crew" }).waitFor();
      for (const u of [bob, carol]) {
        await u.page.getByRole("button", { name: "Rooms" }).click();
        await u.page.locator("#join-name").fill("crew");
        await u.page.getByRole("button", { name: "Join", exact: true }).click();
        await u.page.getByTestId("thread-name").filter({ hasText: "# crew" }).waitFor();
      }
      await write(alice, "welcome to the crew");
      await write(bob, "bob here");
      await write(carol, "carol on the phone");
      for (const u of [alice, bob, carol]) {
        for (const text of ["welcome to the crew", "bob here", "carol on the phone"]) await msg(u, text).waitFor({ timeout: 20_000 });
        assert.equal(await u.page.getByTestId("msg").count(), 3, `${u.id} sees each message once`);
      }
      await bob.page.getByTestId("members-open").click();
      for (const m of ["alice", "bob", "carol"]) await bob.page.locator(`[data-testid="members"] [data-member="${m}"]`).waitFor();
      assert.equal(await bob.page.locator('[data-testid="members"] li').count(), 3);
      await bob.page.keyboard.press("Escape");
      // On the phone the conversation fills the screen; back shows the list.
      assert.equal(await carol.page.locator(".sidebar").isVisible(), false);
      const box = await carol.page.getByTestId("composer").boundingBox();
      assert.ok(box && box.y + box.height <= PHONE.height && box.x >= 0 && box.x + box.width <= PHONE.width, `composer on screen: ${JSON.stringify(box)}`);
      await shot(carol.page, "chat-phone");
      await carol.page.getByRole("button", { name: "Back to conversations" }).click();
      await item(carol, "topic:crew").waitFor();
      await item(carol, "topic:crew").click();
    });

    await step("an image shows as a thumbnail for the others and downloads byte-identical", async () => {
      const image = png(960, 600);
      await alice.page.getByTestId("file-input").setInputFiles({ name: "gradient.png", mimeType: "image/png", buffer: image });
      for (const u of [alice, bob, carol]) {
        const thumb = u.page.getByTestId("thumbnail");
        await thumb.waitFor({ timeout: 15_000 });
        await waitFor(`${u.id}'s thumbnail decoded`, () => thumb.evaluate((img: ImgLike) => img.complete && img.naturalWidth > 0), 10_000);
        const size = await thumb.evaluate((img: ImgLike) => [img.naturalWidth, img.naturalHeight]);
        // The server's thumbnail (at most 320 px), not the 960 px original.
        assert.ok(size[0]! <= 320 && size[1]! <= 320 && size[0]! > 0, `${u.id} thumbnail ${size.join("x")}`);
      }
      const downloading = bob.page.waitForEvent("download");
      await bob.page.getByTestId("download").click();
      const dl = await downloading;
      assert.equal(dl.suggestedFilename(), "gradient.png");
      const saved = readFileSync((await dl.path())!);
      assert.equal(saved.length, image.length);
      assert.ok(saved.equals(image), "downloaded bytes equal the uploaded ones");
      await shot(alice.page, "chat-room");
    });

    await step("a voice note recorded in one browser plays in the other", async () => {
      await item(alice, "p2p:bob").click();
      await item(bob, "p2p:alice").click();
      await alice.page.getByTestId("record").click();
      await alice.page.getByTestId("composer-status").filter({ hasText: "Recording" }).waitFor();
      await alice.page.waitForTimeout(1600);
      await alice.page.getByTestId("record").click(); // stop and send
      const note = bob.page.getByTestId("voice-note");
      await note.waitFor({ timeout: 15_000 });
      // Loaded, and its length known (the page seeks a recorded WebM once to learn it).
      await bob.page.locator('[data-testid="voice-note"][data-ready="true"]').waitFor({ timeout: 20_000 });
      const length = await note.evaluate((a: AudioLike & { duration: number }) => a.duration);
      assert.ok(length > 1.0 && length < 5, `a ~1.6 s note, ${length} s long`);
      assert.equal(await note.evaluate((a: AudioLike) => a.currentTime), 0);
      await note.evaluate((a: AudioLike) => a.play());
      await waitFor("the voice note playing", () => note.evaluate((a: AudioLike) => a.currentTime > 0.5 && a.error === null), 10_000);
      await waitFor("the voice note played to its end", () => note.evaluate((a: AudioLike) => a.ended), 15_000);
      const played = await note.evaluate((a: AudioLike) => a.currentTime);
      assert.ok(played > 1.0 && played < 5, `played ${played} s of a ~1.6 s note`);
      await shot(alice.page, "chat");
    });

    await step("a msg_server killed mid-chat: the page reconnects and shows what was sent meanwhile", async () => {
      const port = await wsPort(alice);
      const victim = cl.msgServers[cl.wsPorts.indexOf(port)] as ServiceProc;
      // bob must stay up to write meanwhile: after the reloads above he may share alice's server;
      // a reload goes through the gateway again, which balances by load.
      for (let i = 0; i < 8 && (await wsPort(bob)) === port; i++) {
        await bob.page.reload();
        await online(bob.page);
      }
      assert.notEqual(await wsPort(bob), port, "bob is on the other msg_server");
      await item(bob, "p2p:alice").click();
      // Watch the banner from inside the page: it may be up for less than a second.
      await alice.page.evaluate(WATCH_BANNER);
      await victim.kill();
      expected.push(new RegExp(`127\\.0\\.0\\.1:${port}`));
      // Offline for at least the first backoff step (250-500 ms), longer while the gateway still lists the dead server.
      await alice.page.getByTestId("offline-banner").waitFor({ state: "visible", timeout: 20_000 });
      const stateWhenWritten = await alice.page.evaluate("document.body.dataset.conn");
      await write(alice, "written while offline");
      assert.notEqual(stateWhenWritten, "online", "alice wrote while offline");
      if (await alice.page.getByTestId("offline-banner").isVisible()) await shot(alice.page, "chat-offline");
      for (let i = 1; i <= 3; i++) await write(bob, `while you were away ${i}`);
      await online(alice.page);
      assert.notEqual(await wsPort(alice), port, "alice is on the other msg_server now");
      const banners = (await alice.page.evaluate("window.banners")) as string[];
      assert.ok(banners.some((b) => /offline|Reconnecting/.test(b)), `the banner said so: ${JSON.stringify(banners)}`);
      await alice.page.getByTestId("offline-banner").waitFor({ state: "hidden" });
      for (let i = 1; i <= 3; i++) await msg(alice, `while you were away ${i}`).waitFor({ timeout: 15_000 });
      await msg(bob, "written while offline").waitFor({ timeout: 15_000 });
      await alice.page.waitForTimeout(1500); // room for a duplicate to show up, if there were one
      for (let i = 1; i <= 3; i++) assert.equal(await msg(alice, `while you were away ${i}`).count(), 1, "no duplicates");
      assert.equal(await msg(bob, "written while offline").count(), 1, "sent once");
      assert.equal(await msg(alice, "written while offline").count(), 1);
      await msg(alice, "written while offline").locator('[data-testid="delivery"][data-state="sent"], [data-testid="delivery"][data-state="read"]').waitFor();
      // In order: bob's three, as he wrote them.
      const texts = await alice.page.locator('[data-testid="msg-text"]').allTextContents();
      const away = texts.filter((x) => x.startsWith("while you were away"));
      assert.deepEqual(away, ["while you were away 1", "while you were away 2", "while you were away 3"]);
      await victim.start();
    });

    await step("no console errors, page errors or failed requests", async () => {
      const allowed = users.flatMap((u) => u.problems.filter((p) => expected.some((re) => re.test(p.text))).map((p) => `${u.id}: ${p.text}`));
      // The browser's own lines about the dead server (a WebSocket refused), which no page can silence.
      if (allowed.length > 0) t.diagnostic(`expected after the kill: ${allowed.join(" | ")}`);
      const unexpected = users.flatMap((u) => u.problems.filter((p) => !expected.some((re) => re.test(p.text))).map((p) => `${u.id}: ${p.text}`));
      assert.deepEqual(unexpected, []);
    });
  },
);
