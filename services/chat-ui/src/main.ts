import { App } from "./app.js";
import { chatConfig, devLogin, EmbedChannel, embedder, forget, remember, remembered, type SignIn, takeFragmentToken, tokenSubject } from "./auth.js";
import type { TokenSource } from "./client.js";
import { byId } from "./dom.js";
import { openImage, openMembers, openRooms } from "./views/dialogs.js";
import { Sidebar } from "./views/sidebar.js";
import { renderSignIn } from "./views/signin.js";
import { ConnStatus } from "./views/status.js";
import { Thread } from "./views/thread.js";

/** Start-up: pick the sign-in (docs/CLIENTS.md, "The web app"), then wire the views to the App. */

const EMBED_TOKEN_WAIT_MS = 30_000;

async function boot(): Promise<void> {
  // A #token= handed to a page already open (a link to the same address): start over with it.
  window.addEventListener("hashchange", () => {
    if (/(^#|&)token=/.test(location.hash)) location.reload();
  });
  const cfg = await chatConfig();
  const parent = embedder(cfg.embedOrigins);
  const embed = parent ? new EmbedChannel(parent) : null;
  const signInRoot = byId("signin");
  const showForm = (notice?: string, lastId?: string) =>
    renderSignIn(signInRoot, {
      devLogin: cfg.devLogin,
      notice,
      lastId,
      onDevLogin: async (id) => start(await devLogin(id), embed),
    });

  const fragment = takeFragmentToken();
  if (fragment !== null) {
    const id = tokenSubject(fragment);
    if (id) return start({ id, token: fragment, mode: "token" }, embed);
    return showForm("The token in the address is not a FishChat token.");
  }
  const saved = remembered();
  if (saved?.mode === "token" && saved.token) return start({ id: saved.id, token: saved.token, mode: "token" }, embed);
  if (saved?.mode === "dev" && cfg.devLogin) {
    try {
      return start(await devLogin(saved.id), embed);
    } catch (err) {
      return showForm((err as Error).message, saved.id);
    }
  }
  if (embed) {
    embed.post("fishchat:ready");
    const token = await embed.next(EMBED_TOKEN_WAIT_MS);
    const id = token ? tokenSubject(token) : null;
    if (token && id) return start({ id, token, mode: "embed" }, embed);
    return showForm("The app did not hand over a sign-in token.");
  }
  showForm();
}

function tokenSource(s: SignIn, embed: EmbedChannel | null): TokenSource {
  return {
    async refresh() {
      if (s.mode === "dev") return (await devLogin(s.id)).token;
      if (s.mode === "embed" && embed) {
        embed.post("fishchat:token-expiring");
        return embed.next(20_000);
      }
      return null; // a #token= link: the session ends at expiry, and says so
    },
  };
}

function start(s: SignIn, embed: EmbedChannel | null): void {
  remember(s);
  byId("signin").hidden = true;
  byId("app").hidden = false;
  const app = new App(s, tokenSource(s, embed));
  byId("me").textContent = s.id;
  const layout = byId("layout");
  const dialogs = { rooms: byId<HTMLDialogElement>("rooms-dialog"), members: byId<HTMLDialogElement>("members-dialog"), image: byId<HTMLDialogElement>("image-dialog") };

  const open = (key: string) => {
    void app.open(key);
    thread.show(app.openConv());
    layout.classList.add("show-thread");
  };
  const sidebar = new Sidebar(app, byId<HTMLUListElement>("conv-list"), byId("conv-empty"), open);
  const thread = new Thread(app, byId("thread"), {
    back: () => {
      app.model.openKey = null;
      thread.show(null);
      layout.classList.remove("show-thread");
      sidebar.render();
      (document.querySelector<HTMLElement>(".conv-item") ?? byId("new-chat-id")).focus();
    },
    members: (c) => openMembers(app, dialogs.members, c),
    openImage: (f) => openImage(app, dialogs.image, f),
  });
  const status = new ConnStatus(byId("conn-state"), byId("banner"), {
    retry: () => app.client.retryNow(),
    signInAgain: () => location.reload(),
  });
  app.onConn = (c) => {
    status.show(c);
    if (c.state === "ended" && /accept|expired/.test(c.reason)) forget();
  };
  const announcer = byId("announcer");
  app.onAnnounce = (text) => {
    announcer.textContent = "";
    window.setTimeout(() => (announcer.textContent = text), 50);
  };
  app.model.onChange((c) => {
    if (c.what === "list" || c.what === "presence") sidebar.render();
    if (c.what === "presence" || (c.what === "conv" && thread.current?.key === c.key)) thread.render();
    if (c.what === "conv" && !app.model.convs.get(c.key)?.left) sidebar.render();
    // A room just left: back to the list.
    if (c.what === "conv" && thread.current?.key === c.key && thread.current.left) thread.show(null);
  });

  const newChat = byId<HTMLFormElement>("new-chat");
  newChat.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = byId<HTMLInputElement>("new-chat-id");
    const peer = input.value.trim();
    if (!peer || /[\s"\\]/.test(peer)) {
      input.setCustomValidity("An id has no spaces, quotes or backslashes");
      input.reportValidity();
      return;
    }
    input.setCustomValidity("");
    input.value = "";
    app.openP2P(peer);
    thread.show(app.openConv());
    layout.classList.add("show-thread");
  });
  byId("new-chat-id").addEventListener("input", (e) => (e.target as HTMLInputElement).setCustomValidity(""));
  byId("rooms-open").addEventListener("click", () => openRooms(app, dialogs.rooms));
  // After a room is created or joined the App opens it: follow on screen.
  app.model.onChange((c) => {
    if (c.what === "list" && app.openConv() !== thread.current && app.openConv()) {
      thread.show(app.openConv());
      layout.classList.add("show-thread");
    }
  });
  byId("sign-out").addEventListener("click", () => {
    forget();
    embed?.post("fishchat:signed-out");
    void app.client.logout().then(() => location.reload());
  });
  sidebar.render();
}

void boot();
