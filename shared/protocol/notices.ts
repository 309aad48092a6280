/**
 * Notices: pushes about other clients that are never stored (read receipts, presence, typing,
 * topic membership). Each dialect writes them its own way (Dialect.readReceipt & co.; a v1
 * packet client gets none); between msg_servers they travel in their line form inside a RELAY
 * envelope (envelope.ts), and parseNotice reads that form back. docs/PROTOCOL.md ("New pushes").
 */
import { CommandError, ErrorCode } from "../errors.js";
import { Cmd, type Command } from "./commands.js";
import type { Dialect } from "./dialect.js";

export type Notice =
  /** The reader's read position in its p2p conversation with the recipient moved to seq. */
  | { kind: "read-receipt"; reader: string; seq: number }
  | { kind: "presence"; clientId: string; online: boolean }
  /** `topic` null: typing to the recipient (p2p). */
  | { kind: "typing"; from: string; topic: string | null }
  | { kind: "topic-member"; topic: string; clientId: string; joined: boolean };

/** The client the notice is about (never pushed to it). */
export function noticeSubject(n: Notice): string {
  switch (n.kind) {
    case "read-receipt":
      return n.reader;
    case "typing":
      return n.from;
    default:
      return n.clientId;
  }
}

/** The push of a notice in `dialect`, or null where the dialect has none (v1 packet clients). */
export function noticePush(dialect: Dialect, n: Notice): Command | null {
  switch (n.kind) {
    case "read-receipt":
      return dialect.readReceipt(n.reader, n.seq);
    case "presence":
      return dialect.presence(n.clientId, n.online);
    case "typing":
      return dialect.typing(n.from, n.topic);
    case "topic-member":
      return dialect.topicMember(n.topic, n.clientId, n.joined);
  }
}

/** The line-protocol pushes, which are also the relay form (codec.ts's LINE uses these). */
export const LINE_NOTICES = {
  readReceipt: (reader: string, seq: number): Command => ({ name: Cmd.READ_RECEIPT, args: ["p2p", reader, String(seq)] }),
  presence: (clientId: string, online: boolean): Command => ({ name: Cmd.PRESENCE, args: [clientId, online ? "online" : "offline"] }),
  typing: (from: string, topic: string | null): Command => ({ name: Cmd.TYPING, args: topic === null ? ["p2p", from] : ["topic", topic, from] }),
  topicMember: (topic: string, clientId: string, joined: boolean): Command => ({ name: Cmd.TOPIC_MEMBER, args: [topic, clientId, joined ? "join" : "leave"] }),
} as const;

function bad(what: string): CommandError {
  return new CommandError(ErrorCode.IM_ERR_BAD_ARGS, `bad notice: ${what}`);
}

const nonEmpty = (s: string | undefined, what: string): string => {
  if (!s) throw bad(`${what} missing`);
  return s;
};

/** A notice from its line form (name + args). Throws CommandError(IM_ERR_BAD_ARGS) for anything else. */
export function parseNotice(cmd: Command): Notice {
  const a = cmd.args;
  switch (cmd.name) {
    case Cmd.READ_RECEIPT: {
      const seq = Number(a[2]);
      if (a.length !== 3 || a[0] !== "p2p" || !Number.isSafeInteger(seq) || seq < 0) throw bad("READ_RECEIPT p2p <reader> <seq>");
      return { kind: "read-receipt", reader: nonEmpty(a[1], "reader"), seq };
    }
    case Cmd.PRESENCE:
      if (a.length !== 2 || (a[1] !== "online" && a[1] !== "offline")) throw bad("PRESENCE <id> online|offline");
      return { kind: "presence", clientId: nonEmpty(a[0], "id"), online: a[1] === "online" };
    case Cmd.TYPING:
      if (a[0] === "p2p" && a.length === 2) return { kind: "typing", from: nonEmpty(a[1], "from"), topic: null };
      if (a[0] === "topic" && a.length === 3) return { kind: "typing", from: nonEmpty(a[2], "from"), topic: nonEmpty(a[1], "topic") };
      throw bad("TYPING p2p <from> | TYPING topic <name> <from>");
    case Cmd.TOPIC_MEMBER:
      if (a.length !== 3 || (a[2] !== "join" && a[2] !== "leave")) throw bad("TOPIC_MEMBER <name> <id> join|leave");
      return { kind: "topic-member", topic: nonEmpty(a[0], "topic"), clientId: nonEmpty(a[1], "id"), joined: a[2] === "join" };
    default:
      throw bad(`${cmd.name} is not a notice`);
  }
}

/** The line form of a notice (what a RELAY carries). */
export function noticeLine(n: Notice): Command {
  switch (n.kind) {
    case "read-receipt":
      return LINE_NOTICES.readReceipt(n.reader, n.seq);
    case "presence":
      return LINE_NOTICES.presence(n.clientId, n.online);
    case "typing":
      return LINE_NOTICES.typing(n.from, n.topic);
    case "topic-member":
      return LINE_NOTICES.topicMember(n.topic, n.clientId, n.joined);
  }
}
