import type { App } from "./app.js";

/**
 * The notices a msg_server pushes besides messages (docs/PROTOCOL.md "New pushes"): read
 * receipts, presence, room membership, typing. Best effort on the server's side; here each only
 * updates the model.
 */

/** How long "x is typing" shows after the last TYPING. */
export const TYPING_SHOWN_MS = 5000;

export function applyNotice(app: App, name: string, args: string[]): void {
  switch (name) {
    case "READ_RECEIPT": {
      const [kind, reader = "", seq = "0"] = args;
      if (kind !== "p2p") return;
      const c = app.model.conv("p2p", reader);
      c.peerRead = Math.max(c.peerRead, Number(seq));
      app.model.emit({ what: "conv", key: c.key });
      return;
    }
    case "PRESENCE": {
      const [id = "", state] = args;
      if (state === "online") app.model.online.add(id);
      else app.model.online.delete(id);
      app.model.emit({ what: "presence" });
      return;
    }
    case "TOPIC_MEMBER": {
      const [topic = "", id = "", change] = args;
      const c = app.model.conv("topic", topic);
      if (c.members) c.members = change === "join" ? [...new Set([...c.members, id])].sort() : c.members.filter((x) => x !== id);
      // Added by someone else (an invitation): the room appears in the list.
      if (id === app.me && change === "join") void app.loadConversations();
      app.model.emit({ what: "conv", key: c.key });
      return;
    }
    case "TOPIC_REMOVED": {
      const [topic = ""] = args;
      const c = app.model.conv("topic", topic);
      c.left = true;
      if (app.model.openKey === c.key) app.model.openKey = null;
      app.onAnnounce(`You were removed from ${topic}`);
      app.model.emit({ what: "list" });
      app.model.emit({ what: "conv", key: c.key });
      return;
    }
    case "TYPING": {
      const [kind, a = "", b = ""] = args;
      const c = kind === "topic" ? app.model.conv("topic", a) : app.model.conv("p2p", a);
      const from = kind === "topic" ? b : a;
      if (from === app.me) return;
      c.typing.set(from, Date.now() + TYPING_SHOWN_MS);
      app.model.emit({ what: "conv", key: c.key });
      window.setTimeout(() => app.model.emit({ what: "conv", key: c.key }), TYPING_SHOWN_MS + 50);
      return;
    }
    default:
  }
}
