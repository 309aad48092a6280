import { randomUUID } from "node:crypto";
import type { TopicMessage } from "../../shared/client/client.js";
import { Cmd, type Command } from "../../shared/protocol/commands.js";
import { ErrorCode, ImError } from "../../shared/errors.js";
import type { ClientApp } from "../client_common/app.js";
import { showHistory } from "../client_common/history.js";
import { parseText, showText } from "../client_common/output.js";

export const TOPIC_HELP = [
  "/create <topic>           create a topic (you become a member)",
  "/join <topic>             join a topic",
  "/quit <topic>             leave a topic (its history stays)",
  "/send <topic> <text>      post to a topic (spaces allowed; a JSON string literal is decoded)",
  "<text>                    post to the current topic (the last one created, joined or /use'd)",
  "/use <topic>              set the current topic",
  "/topics [after] [limit]   list topics by name",
  "/members <topic>          list a topic's members",
  "/mine                     list the topics I belong to",
  "/history <topic> [afterSeq] [limit]   a topic's messages, oldest first",
  "/whoami                   my id and msg_server",
  "/help                     this help",
  "/exit (or :q)             quit",
];

/** Per-process state of the topic client. */
export interface TopicState {
  current: string | null;
}

/** Show an incoming topic message as `[<topic>] <from> says : <text>` and acknowledge it (TOPIC_ACK). */
export function onTopic(app: ClientApp, m: TopicMessage): void {
  const s = app.session;
  const hasSeq = Number.isSafeInteger(m.seq) && m.seq > 0;
  if (hasSeq && s.opts.codec === "line") app.track(s.request({ name: Cmd.TOPIC_ACK, args: [m.topic, String(m.seq)] }));
  if (hasSeq && !app.firstSight(`${m.topic}#${m.seq}`)) return;
  app.out.debug(`my uuid is : ${m.uuid}${hasSeq ? ` seq ${m.seq} ts ${m.ts}` : ""}`);
  app.out.line(`[${m.topic}] ${m.from} says : ${showText(m.body)}`);
  app.countReceived();
}

/** TOPIC_GAP <topic> <n>: n older messages exceeded the offline backlog bound and were dropped. */
export function onTopicPush(app: ClientApp, cmd: Command): void {
  if (cmd.name === Cmd.TOPIC_GAP) app.out.line(`gap ${cmd.args[0] ?? "?"} ${cmd.args[1] ?? "?"}`);
  else if (cmd.name !== Cmd.HISTORY_ITEM) app.out.debug(`push ${cmd.name} ${cmd.args.map(showText).join(" ")}`);
}

const packet = (app: ClientApp) => app.session.opts.codec === "packet";

function needLine(app: ClientApp, what: string): void {
  if (packet(app)) throw new ImError(ErrorCode.IM_ERR_UNKNOWN_COMMAND, `${what} is not available with --codec packet (v1 has no such command)`);
}

function need(args: string[], min: number, max: number, usage: string): void {
  if (args.length < min || args.length > max) throw new ImError(ErrorCode.IM_ERR_BAD_ARGS, `usage: ${usage}`);
}

export async function createTopic(app: ClientApp, st: TopicState, name: string): Promise<void> {
  const cmd = { name: Cmd.CREATE_TOPIC, args: [name] };
  if (packet(app)) await app.session.write(cmd, app.readyWaitMs);
  else await app.session.request(cmd, { waitMs: app.readyWaitMs });
  st.current = name;
  app.out.line(`created ${name}`);
}

/** JOIN_TOPIC <topic> <id>; returns the LOCATE_TOPIC_MSG_ADDR answer [addr, topic]. */
export async function joinTopic(app: ClientApp, st: TopicState, name: string, id = app.session.clientId): Promise<[string, string]> {
  // Idempotent: safe to repeat after a re-login. Packet mode: v1 answers with the same frame.
  const r = await app.session.request({ name: Cmd.JOIN_TOPIC, args: [name, id] }, { retry: true, expectReply: true, waitMs: app.readyWaitMs });
  if (r.name !== Cmd.LOCATE_TOPIC_MSG_ADDR) throw new ImError(ErrorCode.IM_ERR_INTERNAL, `unexpected answer ${r.name} to JOIN_TOPIC`);
  st.current = name;
  return [r.args[0] ?? "", r.args[1] ?? name];
}

export async function sendTopic(app: ClientApp, topic: string, text: string): Promise<void> {
  const s = app.session;
  if (packet(app)) {
    await s.write({ name: Cmd.SEND_MESSAGE_TOPIC, args: [topic, text] }, app.readyWaitMs);
    app.out.line(`sent to ${topic}`);
    return;
  }
  // The client message id makes a repeat after a re-login harmless.
  const r = await s.request({ name: Cmd.SEND_MESSAGE_TOPIC, args: [topic, text, randomUUID()] }, { retry: true, waitMs: app.readyWaitMs });
  app.out.line(`sent to ${topic} seq ${r.args[2] ?? "?"} uuid ${r.args[1] ?? "?"}`);
}

async function list(app: ClientApp, cmd: string, args: string[], label: string): Promise<void> {
  const r = await app.session.request({ name: cmd, args }, { retry: true, waitMs: app.readyWaitMs });
  app.out.line([label, ...r.args.slice(1)].join(" "));
}

async function slash(app: ClientApp, st: TopicState, verb: string, args: string[], rest: string): Promise<"quit" | undefined> {
  switch (verb) {
    case "/exit":
    case "/q":
    case ":q":
      return "quit";
    case "/help":
      for (const l of TOPIC_HELP) app.out.line(l);
      return;
    case "/whoami":
      app.out.line(`${app.session.up ? "connected to" : "disconnected from"} ${app.session.addr} as ${app.session.clientId}`);
      return;
    case "/create":
      need(args, 1, 1, "/create <topic>");
      await createTopic(app, st, args[0]!);
      return;
    case "/join": {
      need(args, 1, 1, "/join <topic>");
      const [addr, name] = await joinTopic(app, st, args[0]!);
      app.out.line(`joined ${name} at ${addr}`);
      return;
    }
    case "/quit":
      need(args, 1, 1, "/quit <topic>");
      needLine(app, "/quit");
      await app.session.request({ name: Cmd.QUIT_TOPIC, args }, { waitMs: app.readyWaitMs });
      if (st.current === args[0]) st.current = null;
      app.out.line(`left ${args[0]!}`);
      return;
    case "/send": {
      const m = /^(\S+)\s+([\s\S]+)$/.exec(rest);
      if (!m) throw new ImError(ErrorCode.IM_ERR_BAD_ARGS, "usage: /send <topic> <text>");
      await sendTopic(app, m[1]!, parseText(m[2]!));
      return;
    }
    case "/use":
      need(args, 1, 1, "/use <topic>");
      st.current = args[0]!;
      app.out.line(`using ${st.current}`);
      return;
    case "/topics":
      need(args, 0, 2, "/topics [after] [limit]");
      needLine(app, "/topics");
      await list(app, Cmd.LIST_TOPICS, args, "topics");
      return;
    case "/members":
      need(args, 1, 1, "/members <topic>");
      needLine(app, "/members");
      await list(app, Cmd.TOPIC_MEMBERS, args, "members");
      return;
    case "/mine":
      need(args, 0, 0, "/mine");
      needLine(app, "/mine");
      await list(app, Cmd.MY_TOPICS, args, "mine");
      return;
    case "/history":
      needLine(app, "/history");
      if (!args[0]) throw new ImError(ErrorCode.IM_ERR_BAD_ARGS, "usage: /history <topic> [afterSeq] [limit]");
      await showHistory(app, "topic", args[0], args.slice(1));
      return;
    default:
      throw new ImError(ErrorCode.IM_ERR_UNKNOWN_COMMAND, `unknown command ${verb} (try /help)`);
  }
}

/** One input line in command mode: a /command, or text for the current topic. Errors are reported, never thrown. */
export async function handleTopicLine(app: ClientApp, st: TopicState, raw: string): Promise<"quit" | undefined> {
  const line = raw.trim();
  if (line === "") return;
  try {
    if (line.startsWith("/") || line === ":q") {
      const [verb = "", ...args] = line.split(/\s+/);
      return await slash(app, st, verb.toLowerCase(), args, line.slice(verb.length).trim());
    }
    if (st.current === null) {
      const v1Answer = /^(y|n|yes|no)$/i.test(line) ? "; v1's question-and-answer flow needs --v1" : "";
      throw new ImError(ErrorCode.IM_ERR_BAD_ARGS, `no current topic: /create, /join or /use a topic first (try /help)${v1Answer}`);
    }
    await sendTopic(app, st.current, parseText(line));
  } catch (err) {
    app.fail(err);
  }
}
