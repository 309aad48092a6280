import Router, { type RouterContext } from "@koa/router";
import { z } from "zod";
import { Cmd } from "../../shared/protocol/commands.js";
import { checkClientId, checkTopicName } from "../../shared/validate.js";
import type { ClusterClient } from "./cluster.js";
import { body, parse } from "./http.js";

const policy = z.enum(["public", "private"]);
const create = z.strictObject({ name: z.string(), owner: z.string(), policy: policy.default("public") });
const change = z
  .strictObject({ owner: z.string().optional(), policy: policy.optional() })
  .refine((c) => c.owner !== undefined || c.policy !== undefined, "give owner, policy or both");

/** A page of names: after the name `after` (absent: from the start), at most `limit`. */
const namePage = z.strictObject({ after: z.string().max(256).default(""), limit: z.coerce.number().int().min(1).max(1000).default(100) });

interface TopicInfo {
  name: string;
  owner: string;
  policy: "public" | "private";
  memberCount: number;
  admins: string[];
  createdAt: number;
}

/** Topics: list, create, look up, change owner and policy, delete; list, add and remove members. */
export function topicRoutes(cluster: ClusterClient, maxBodyBytes: number): Router {
  const r = new Router({ prefix: "/v1/topics" });
  const info = (name: string) => cluster.callJson<TopicInfo>(Cmd.ADMIN_TOPIC_INFO, [name]);
  r.post("/", async (ctx) => {
    const b = await body(ctx, create, maxBodyBytes);
    const name = checkTopicName(b.name);
    await cluster.call(Cmd.ADMIN_TOPIC_CREATE, [name, checkClientId(b.owner, "owner"), b.policy]);
    ctx.status = 201;
    ctx.body = await info(name);
  });
  r.get("/", async (ctx) => {
    const q = parse(namePage, ctx.query, "query");
    ctx.body = await cluster.callJson(Cmd.ADMIN_TOPICS, [q.after, String(q.limit)]);
  });
  r.get("/:name/members", async (ctx) => {
    const q = parse(namePage, ctx.query, "query");
    ctx.body = await cluster.callJson(Cmd.ADMIN_TOPIC_MEMBERS, [checkTopicName(ctx.params.name), q.after, String(q.limit)]);
  });
  r.get("/:name", async (ctx) => {
    ctx.body = await info(checkTopicName(ctx.params.name));
  });
  r.patch("/:name", async (ctx) => {
    const name = checkTopicName(ctx.params.name);
    const b = await body(ctx, change, maxBodyBytes);
    if (b.owner !== undefined) await cluster.call(Cmd.ADMIN_TOPIC_OWNER, [name, checkClientId(b.owner, "owner")]);
    if (b.policy !== undefined) await cluster.call(Cmd.ADMIN_TOPIC_POLICY, [name, b.policy]);
    ctx.body = await info(name);
  });
  r.delete("/:name", async (ctx) => {
    const name = checkTopicName(ctx.params.name);
    const [, members] = await cluster.call(Cmd.ADMIN_TOPIC_DELETE, [name]);
    ctx.body = { name, deleted: true, members: Number(members) };
  });
  const member = (op: "add" | "remove") => async (ctx: RouterContext) => {
    const name = checkTopicName(ctx.params.name);
    const who = checkClientId(ctx.params.id, "member id");
    const [, , changed] = await cluster.call(Cmd.ADMIN_TOPIC_MEMBER, [name, who, op]);
    ctx.body = { topic: name, user: who, member: op === "add", changed: changed === "1" };
  };
  r.put("/:name/members/:id", member("add"));
  r.delete("/:name/members/:id", member("remove"));
  return r;
}
