import Router from "@koa/router";
import type { RevocationList } from "../../shared/bus/revocations.js";
import type { SessionDirectory } from "../../shared/bus/session-directory.js";
import { Cmd } from "../../shared/protocol/commands.js";
import { checkClientId } from "../../shared/validate.js";
import type { ClusterClient } from "./cluster.js";

export interface UserDeps {
  cluster: ClusterClient;
  directory: SessionDirectory;
  revocations: RevocationList;
  revokeForSec: number;
}

/**
 * Presence, a user's topics, and disconnecting a user. Presence is read from the session
 * directory in Redis (where the msg_servers register each login), not from a msg_server.
 */
export function userRoutes(d: UserDeps): Router {
  const r = new Router({ prefix: "/v1/users" });
  r.get("/:id/presence", async (ctx) => {
    const id = checkClientId(ctx.params.id, "user id");
    const loc = await d.directory.lookup(id);
    ctx.body = loc ? { user: id, online: true, server: loc.serverId } : { user: id, online: false };
  });
  r.get("/:id/topics", async (ctx) => {
    const id = checkClientId(ctx.params.id, "user id");
    ctx.body = { user: id, topics: await d.cluster.call(Cmd.ADMIN_USER_TOPICS, [id]) };
  });
  /**
   * Every token of the user issued until now is revoked cluster-wide (as `token --revoke-user`),
   * which also closes its live sessions (IM_ERR_TOKEN_REVOKED) within a second. It logs in again
   * with a token issued after this moment.
   */
  r.post("/:id/disconnect", async (ctx) => {
    const id = checkClientId(ctx.params.id, "user id");
    const wasOnline = (await d.directory.lookup(id)) !== null;
    const now = Date.now();
    await d.revocations.revoke({ kind: "user", key: id, atMs: now, untilMs: now + d.revokeForSec * 1000 });
    ctx.body = { user: id, wasOnline, tokensRevokedBefore: new Date(now).toISOString() };
  });
  return r;
}
