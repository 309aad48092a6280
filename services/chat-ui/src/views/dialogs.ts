import type { App } from "../app.js";
import type { FileRef } from "../body.js";
import { h } from "../dom.js";
import type { Conv } from "../model.js";
import { presenceDot } from "./sidebar.js";

/**
 * Modal <dialog>s: focus moves into them, Escape closes them and focus returns to the button
 * that opened them (the browser does both for showModal()). Server errors are shown as sent.
 */

const TOPIC_NAME = "[A-Za-z0-9_.\\-]{1,64}";

function errorText(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e.code === "IM_ERR_UNKNOWN_COMMAND" ? `This server does not support that yet (${e.message ?? e.code}).` : (e.message ?? String(err));
}

function closeButton(d: HTMLDialogElement): HTMLElement {
  return h("button", { type: "button", class: "btn btn-ghost dialog-close", "aria-label": "Close", onclick: () => d.close() }, "✕");
}

/** Create a room (public or private), or join one from the list or by name. */
export function openRooms(app: App, d: HTMLDialogElement): void {
  const err = h("p", { class: "form-error", role: "alert", "data-testid": "rooms-error" });
  const fail = (e: unknown) => (err.textContent = errorText(e));
  const name = h("input", { id: "room-name", name: "room", required: true, pattern: TOPIC_NAME, maxlength: 64, autocomplete: "off", spellcheck: "false" });
  const priv = h("input", { id: "room-private", type: "checkbox", name: "private" });
  const create = h(
    "form",
    { class: "stack", "data-testid": "room-create" },
    h("label", { for: "room-name" }, "Room name"),
    name,
    h("span", { class: "hint" }, "Letters, digits, _ - . (up to 64)"),
    h("label", { class: "check" }, priv, " Private: only people invited can join"),
    h("div", { class: "row" }, h("button", { type: "submit", class: "btn" }, "Create room")),
  );
  create.addEventListener("submit", (e) => {
    e.preventDefault();
    err.textContent = "";
    app.rooms.create(name.value.trim(), priv.checked).then(() => d.close(), fail);
  });
  const joinName = h("input", { id: "join-name", required: true, pattern: TOPIC_NAME, maxlength: 64, autocomplete: "off", spellcheck: "false" });
  const join = h(
    "form",
    { class: "stack", "data-testid": "room-join" },
    h("label", { for: "join-name" }, "Join a room by name"),
    h("div", { class: "row" }, joinName, h("button", { type: "submit", class: "btn btn-secondary" }, "Join")),
  );
  join.addEventListener("submit", (e) => {
    e.preventDefault();
    err.textContent = "";
    app.rooms.join(joinName.value.trim()).then(() => d.close(), fail);
  });
  const list = h("ul", { class: "room-list", "aria-label": "Rooms on this server" }, h("li", { class: "muted" }, "Loading…"));
  d.replaceChildren(
    h("div", { class: "dialog-head" }, h("h2", { id: "rooms-title" }, "Rooms"), closeButton(d)),
    err,
    create,
    h("hr"),
    join,
    h("h3", {}, "Public rooms"),
    list,
  );
  d.showModal();
  name.focus();
  app.rooms.list().then(
    (rooms) => {
      const mine = new Set([...app.model.convs.values()].filter((c) => c.kind === "topic" && !c.left).map((c) => c.target));
      list.replaceChildren(
        ...(rooms.length === 0
          ? [h("li", { class: "muted" }, "No rooms yet.")]
          : rooms.map((r) =>
              h(
                "li",
                {},
                h("span", { class: "room-name" }, `# ${r}`),
                mine.has(r)
                  ? h("button", { type: "button", class: "btn btn-ghost", onclick: () => void app.open(`topic:${r}`).then(() => d.close()) }, "Open")
                  : h("button", { type: "button", class: "btn btn-secondary", "aria-label": `Join ${r}`, onclick: () => app.rooms.join(r).then(() => d.close(), fail) }, "Join"),
              ),
            )),
      );
    },
    (e) => list.replaceChildren(h("li", { class: "muted" }, errorText(e))),
  );
}

/** Members of a room with their presence, an invitation form (private rooms), and Leave. */
export function openMembers(app: App, d: HTMLDialogElement, c: Conv): void {
  const err = h("p", { class: "form-error", role: "alert", "data-testid": "members-error" });
  const fail = (e: unknown) => (err.textContent = errorText(e));
  const list = h("ul", { class: "member-list", "data-testid": "members" }, h("li", { class: "muted" }, "Loading…"));
  const show = (members: string[]) =>
    list.replaceChildren(
      ...members.map((m) => h("li", { "data-member": m }, presenceDot(app.model.online.has(m)), h("span", {}, m === app.me ? `${m} (you)` : m))),
    );
  const who = h("input", { id: "invite-id", required: true, maxlength: 128, autocomplete: "off", spellcheck: "false", autocapitalize: "none" });
  const done = h("p", { class: "hint", role: "status", "data-testid": "invite-status" });
  const about = h("p", { class: "hint", "data-testid": "room-about" });
  const invite = h(
    "form",
    { class: "stack", "data-testid": "invite" },
    h("label", { for: "invite-id" }, "Invite someone (their id)"),
    h("div", { class: "row" }, who, h("button", { type: "submit", class: "btn btn-secondary" }, "Invite")),
    done,
  );
  invite.addEventListener("submit", (e) => {
    e.preventDefault();
    err.textContent = "";
    const id = who.value.trim();
    app.rooms.invite(c.target, id).then(() => {
      who.value = "";
      done.textContent = `${id} is invited: they can join from Rooms, “Join a room by name”: ${c.target}.`;
      show(c.members ?? []);
    }, fail);
  });
  const describe = () => {
    const i = c.info;
    about.textContent = i ? `${i.policy === "private" ? "Private: only people invited can join." : "Public: anyone can join."} Owner: ${i.owner}.` : "";
    invite.hidden = !!i && (i.policy !== "private" || !app.rooms.canInvite(c));
  };
  describe();
  app.rooms.topicInfo(c.target).then(describe, () => undefined);
  const leave = h(
    "button",
    {
      type: "button",
      class: "btn btn-danger",
      "data-testid": "leave",
      onclick: () => app.rooms.leave(c.target).then(() => d.close(), fail),
    },
    "Leave room",
  );
  d.replaceChildren(h("div", { class: "dialog-head" }, h("h2", { id: "members-title" }, `# ${c.target}`), closeButton(d)), about, err, h("h3", {}, "Members"), list, invite, h("hr"), leave);
  d.showModal();
  app.rooms.members(c.target).then(show, (e) => {
    list.replaceChildren();
    fail(e);
  });
}

/** The full image, fetched when opened. */
export function openImage(app: App, d: HTMLDialogElement, f: FileRef): void {
  const img = h("img", { alt: f.name, class: "full-image" });
  const status = h("p", { class: "muted", role: "status" }, "Loading…");
  d.replaceChildren(h("div", { class: "dialog-head" }, h("h2", {}, f.name), closeButton(d)), status, img);
  d.showModal();
  app.files.url(f.id).then(
    (u) => {
      img.src = u;
      status.textContent = "";
    },
    (e: Error) => (status.textContent = `Cannot load the image: ${e.message}`),
  );
}
