import { h } from "../dom.js";

/**
 * Shown when the API wants a bearer token (monitor.json http.token). Basic auth never gets here:
 * the browser prompts for it before the page loads.
 */
export function renderAuth(main: HTMLElement, failed: boolean, onToken: (token: string) => void): void {
  const input = h("input", { type: "password", name: "token", placeholder: "Access token", autocomplete: "current-password", "aria-label": "Access token" });
  const form = h("form", {}, input, h("button", { type: "submit" }, "Open dashboard"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (input.value.trim()) onToken(input.value.trim());
  });
  main.replaceChildren(
    h(
      "section",
      { class: "card auth", "data-testid": "auth" },
      h("h2", {}, "This monitor requires an access token"),
      h("p", { class: "muted" }, failed ? "The token was not accepted. " : "", "Enter the http.token from monitor.json, or open the page as /#token=… ."),
      form,
    ),
  );
  input.focus();
}
