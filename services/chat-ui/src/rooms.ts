import type { App } from "./app.js";
import { type Conv, convKey } from "./model.js";
import { ServerError } from "./socket.js";

/**
 * Rooms (topics): create, join, leave, members, invitations, the public list. Errors are the
 * server's (IM_ERR_TOPIC_EXISTS, IM_ERR_NOT_INVITED, an unknown command on an older server ...):
 * the dialogs show their message.
 */
export class Rooms {
  constructor(private readonly app: App) {}

  async create(name: string, priv: boolean): Promise<void> {
    await this.app.client.request("CREATE_TOPIC", priv ? [name, "private"] : [name]);
    await this.afterJoin(name);
  }

  async join(name: string): Promise<void> {
    await this.app.client.request("JOIN_TOPIC", [name, this.app.me]);
    await this.afterJoin(name);
  }

  private async afterJoin(name: string): Promise<void> {
    const c = this.app.model.conv("topic", name);
    c.left = false;
    c.historyLoaded = false;
    c.activity = Math.max(c.activity, Date.now());
    await this.app.loadConversations();
    await this.app.open(convKey("topic", name));
  }

  async leave(name: string): Promise<void> {
    await this.app.client.request("QUIT_TOPIC", [name]);
    const c = this.app.model.conv("topic", name);
    c.left = true;
    if (this.app.model.openKey === c.key) this.app.model.openKey = null;
    this.app.model.emit({ what: "list" });
    this.app.model.emit({ what: "conv", key: c.key });
  }

  async members(name: string): Promise<string[]> {
    const out: string[] = [];
    let after = "";
    for (let page = 0; page < 20; page++) {
      const r = await this.app.client.request("TOPIC_MEMBERS", [name, after, 1000]);
      const got = r.slice(1);
      out.push(...got);
      if (got.length < 1000) break;
      after = got[got.length - 1]!;
    }
    const c = this.app.model.conv("topic", name);
    c.members = out.sort();
    this.app.model.emit({ what: "conv", key: c.key });
    return c.members;
  }

  /** Owner, policy and admins of a room (TOPIC_INFO); null from a server without it. */
  async topicInfo(name: string): Promise<Conv["info"] | null> {
    try {
      const [, owner = "", policy = "public", count = "0", ...admins] = await this.app.client.request("TOPIC_INFO", [name]);
      const c = this.app.model.conv("topic", name);
      c.info = { owner, policy, memberCount: Number(count), admins };
      this.app.model.emit({ what: "conv", key: c.key });
      return c.info;
    } catch (err) {
      if (err instanceof ServerError && err.code === "IM_ERR_UNKNOWN_COMMAND") return null;
      throw err;
    }
  }

  /** Whether I may invite to the room: its owner or an admin (true when the server cannot say). */
  canInvite(c: Conv): boolean {
    return !c.info || c.info.owner === this.app.me || c.info.admins.includes(this.app.me);
  }

  async invite(name: string, id: string): Promise<void> {
    await this.app.client.request("INVITE_TOPIC", [name, id]);
    await this.members(name).catch(() => undefined);
  }

  async list(): Promise<string[]> {
    return this.app.client.request("LIST_TOPICS", ["", 200]);
  }
}
