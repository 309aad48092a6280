import { randomUUID } from "node:crypto";
import type { P2PMessage } from "../../shared/client/client.js";
import { Cmd } from "../../shared/protocol/commands.js";
import { type AttachmentRef, readRef } from "../../shared/protocol/attachment-ref.js";
import { ErrorCode, ImError } from "../../shared/errors.js";
import type { ClientApp } from "../client_common/app.js";
import { showHistory } from "../client_common/history.js";
import { parseText, showText } from "../client_common/output.js";

export const P2P_HELP = [
  "<id> <message text>      send a message to <id> (spaces allowed; a JSON string literal is decoded)",
  ":olu [limit]             list online users",
  ":history <id> [afterSeq] [limit]   our conversation with <id>, oldest first",
  ":whoami                  my id and msg_server",
  ":help                    this help",
  ":q                       quit",
];

/** Show an incoming message the v1 way (`<from> says : <msg>`) and acknowledge it (P2P_ACK). */
export function onP2P(app: ClientApp, m: P2PMessage): void {
  const s = app.session;
  if (s.opts.codec === "packet") void s.write({ name: Cmd.P2P_ACK, args: [s.clientId, m.uuid] }).catch(() => undefined);
  else app.track(s.request({ name: Cmd.P2P_ACK, args: [s.clientId, m.uuid] }));
  if (m.uuid && !app.firstSight(m.uuid)) return;
  app.out.debug(`my uuid is : ${m.uuid}${m.seq ? ` seq ${m.seq} ts ${m.ts}` : ""}`);
  const ref = readRef(m.body);
  if (ref) showFile(app, m.from, ref);
  else app.out.line(`${m.from} says : ${showText(m.body)}`);
  app.countReceived();
}

/** The msg_server's file base URL (FILES_URL), asked once per app; null where it has none. */
const filesBase = new WeakMap<ClientApp, Promise<string | null>>();

/** `<from> sent a file : <name> (<mime>, <size> bytes) <download url>` (docs/PROTOCOL.md). */
function showFile(app: ClientApp, from: string, ref: AttachmentRef): void {
  const caption = ref.caption === undefined ? "" : ` "${showText(ref.caption)}"`;
  const say = (url: string | null) => app.out.line(`${from} sent a file : ${showText(ref.name)} (${ref.mime}, ${ref.size} bytes)${caption}${url ? ` ${url}/${ref.id}` : ` id ${ref.id}`}`);
  if (app.session.opts.codec === "packet") {
    say(null);
    return;
  }
  let base = filesBase.get(app);
  if (!base) {
    base = app.session.request({ name: Cmd.FILES_URL, args: [] }).then(
      (r) => r.args[1] ?? null,
      () => null,
    );
    filesBase.set(app, base);
  }
  app.track(base.then(say));
}

function needLine(app: ClientApp, what: string): void {
  if (app.session.opts.codec === "packet") throw new ImError(ErrorCode.IM_ERR_UNKNOWN_COMMAND, `${what} is not available with --codec packet (v1 has no such command)`);
}

async function send(app: ClientApp, to: string, text: string): Promise<void> {
  const s = app.session;
  if (s.opts.codec === "packet") {
    await s.write({ name: Cmd.SEND_MESSAGE_P2P, args: [to, text, s.clientId] }, app.readyWaitMs);
    app.out.line(`sent to ${to}`);
    return;
  }
  // A client message id makes the send safe to repeat after a re-login: the server keeps one copy.
  const cmid = randomUUID();
  const r = await s.request({ name: Cmd.SEND_MESSAGE_P2P, args: [to, text, s.clientId, cmid] }, { retry: true, waitMs: app.readyWaitMs });
  app.out.line(`sent to ${to} seq ${r.args[2] ?? "?"} uuid ${r.args[1] ?? "?"}`);
}

async function colon(app: ClientApp, verb: string, args: string[]): Promise<"quit" | undefined> {
  switch (verb) {
    case ":q":
    case ":quit":
    case ":exit":
      return "quit";
    case ":help":
      for (const l of P2P_HELP) app.out.line(l);
      return;
    case ":whoami":
      app.out.line(`${app.session.up ? "connected to" : "disconnected from"} ${app.session.addr} as ${app.session.clientId}`);
      return;
    case ":olu": {
      needLine(app, ":olu");
      if (args.length > 1 || (args[0] !== undefined && !/^\d+$/.test(args[0]))) throw new ImError(ErrorCode.IM_ERR_BAD_ARGS, "usage: :olu [limit]");
      const r = await app.session.request({ name: Cmd.ONLINE_USERS, args }, { retry: true, waitMs: app.readyWaitMs });
      app.out.line(["online", ...r.args.slice(1)].join(" "));
      return;
    }
    case ":history": {
      needLine(app, ":history");
      const [peer, ...rest] = args;
      if (!peer) throw new ImError(ErrorCode.IM_ERR_BAD_ARGS, "usage: :history <id> [afterSeq] [limit]");
      await showHistory(app, "p2p", peer, rest);
      return;
    }
    default:
      throw new ImError(ErrorCode.IM_ERR_UNKNOWN_COMMAND, `unknown command ${verb} (try :help)`);
  }
}

/** One input line: `<id> <text>` or a `:command`. Errors are reported, never thrown. */
export async function handleP2PLine(app: ClientApp, raw: string): Promise<"quit" | undefined> {
  const line = raw.trim();
  if (line === "") return;
  try {
    if (line.startsWith(":")) {
      const [verb = "", ...args] = line.split(/\s+/);
      return await colon(app, verb.toLowerCase(), args);
    }
    const m = /^(\S+)\s+([\s\S]+)$/.exec(line);
    if (!m) throw new ImError(ErrorCode.IM_ERR_BAD_ARGS, "usage: <id> <message text> (or :help)");
    await send(app, m[1]!, parseText(m[2]!));
  } catch (err) {
    app.fail(err);
  }
}
