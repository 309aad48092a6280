import { h } from "../dom.js";

/**
 * The sign-in screen. With the gateway's development login: a form asking for an id. Without it
 * the page can only be opened by an app that hands it a token (docs/CLIENTS.md), and says so.
 */
export function renderSignIn(root: HTMLElement, o: { devLogin: boolean; notice?: string; lastId?: string; onDevLogin(id: string): Promise<void> }): void {
  const notice = h("p", { class: "form-error", role: "alert", "data-testid": "signin-error" }, o.notice ?? "");
  const card = h("div", { class: "signin-card" }, h("div", { class: "brand brand-big" }, h("img", { src: "favicon.svg", alt: "", width: 40, height: 40 }), h("h1", {}, "FishChat")));
  if (o.devLogin) {
    const input = h("input", { id: "signin-id", name: "id", required: true, maxlength: 128, autocomplete: "username", spellcheck: "false", autocapitalize: "none", value: o.lastId ?? "" });
    const button = h("button", { type: "submit", class: "btn btn-wide" }, "Sign in");
    const form = h(
      "form",
      { class: "stack", "data-testid": "signin-form" },
      h("label", { for: "signin-id" }, "Your id"),
      input,
      h("p", { class: "hint" }, "Development sign-in: any id works, no password. It is off unless the gateway's http.devLogin is set."),
      notice,
      button,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      notice.textContent = "";
      button.disabled = true;
      o.onDevLogin(input.value.trim()).catch((err: Error) => {
        notice.textContent = err.message;
        button.disabled = false;
        input.focus();
      });
    });
    card.append(form);
    root.replaceChildren(card);
    root.hidden = false;
    input.focus();
    return;
  }
  card.append(
    notice,
    h("p", {}, "This chat is opened from your app, which signs you in."),
    h("p", { class: "muted" }, "Developers: open it with #token=<token> in the address, embed it and post the token, or enable the development sign-in (http.devLogin in the gateway's conf)."),
  );
  root.replaceChildren(card);
  root.hidden = false;
}
