import Router from "@koa/router";
import { z } from "zod";
import { Cmd } from "../../shared/protocol/commands.js";
import { checkClientId, checkTopicName } from "../../shared/validate.js";
import { SYSTEM_SENDER } from "../msg_server/topics.js";
import type { ClusterClient } from "./cluster.js";
import { body, parse } from "./http.js";

/** A client message id: what makes a send idempotent (a retry with it answers the first send's id and seq). */
const clientMessageId = z.string().min(1).max(128).regex(/^\S+$/, "no whitespace");
const text = z.string().min(1, "an empty message is not sent");
const p2pSend = z.strictObject({ to: z.string(), body: text, from: z.string().optional(), clientMessageId: clientMessageId.optional() });
const topicSend = z.strictObject({ topic: z.string(), body: text, from: z.string().optional(), clientMessageId: clientMessageId.optional() });
const page = z.strictObject({
  after: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** "$system" when no sender is given, else the user the backend sends for. */
const senderOf = (from: string | undefined) => (from === undefined || from === SYSTEM_SENDER ? SYSTEM_SENDER : checkClientId(from, "from"));

function sent([id, seq, dup]: string[]) {
  return { id: id!, seq: Number(seq), duplicate: dup === "1" };
}

export interface HistoryPage {
  conversation: string;
  messages: { id: string; seq: number; from: string; body: string; ts: number }[];
  last: number;
}

/** Sends (p2p and topic) and history pages. */
export function messageRoutes(cluster: ClusterClient, maxBodyBytes: number, onSent: () => void): Router {
  const r = new Router({ prefix: "/v1" });
  r.post("/messages/p2p", async (ctx) => {
    const b = await body(ctx, p2pSend, maxBodyBytes);
    const args = [senderOf(b.from), checkClientId(b.to, "to"), b.body, ...(b.clientMessageId ? [b.clientMessageId] : [])];
    ctx.body = sent(await cluster.call(Cmd.ADMIN_SEND_P2P, args));
    onSent();
  });
  r.post("/messages/topic", async (ctx) => {
    const b = await body(ctx, topicSend, maxBodyBytes);
    const args = [senderOf(b.from), checkTopicName(b.topic), b.body, ...(b.clientMessageId ? [b.clientMessageId] : [])];
    ctx.body = sent(await cluster.call(Cmd.ADMIN_SEND_TOPIC, args));
    onSent();
  });
  r.get("/conversations/p2p/:a/:b/messages", async (ctx) => {
    const q = parse(page, ctx.query, "query");
    const a = senderOf(ctx.params.a);
    const peer = checkClientId(ctx.params.b, "peer id");
    ctx.body = await cluster.callJson<HistoryPage>(Cmd.ADMIN_HISTORY, ["p2p", a, peer, String(q.after), String(q.limit)]);
  });
  r.get("/topics/:name/messages", async (ctx) => {
    const q = parse(page, ctx.query, "query");
    ctx.body = await cluster.callJson<HistoryPage>(Cmd.ADMIN_HISTORY, ["topic", checkTopicName(ctx.params.name), String(q.after), String(q.limit)]);
  });
  return r;
}
