import { Cmd, type Command } from "../../shared/protocol/commands.js";
import { ErrorCode, ImError } from "../../shared/errors.js";
import type { ClientApp } from "./app.js";
import { showText } from "./output.js";

/**
 * HISTORY p2p|topic <name> [afterSeq] [limit]: the server streams HISTORY_ITEM pushes, then
 * `OK HISTORY <count> <lastSeq>`. Printed as `history <name> <seq> <from> says : <text>` lines and
 * a final `history <name> end <count> <lastSeq>` (page on with lastSeq as the next afterSeq).
 */
export async function showHistory(app: ClientApp, kind: "p2p" | "topic", name: string, rest: string[]): Promise<void> {
  if (rest.length > 2 || rest.some((a) => !/^\d+$/.test(a))) {
    throw new ImError(ErrorCode.IM_ERR_BAD_ARGS, "usage: history <name> [afterSeq] [limit]");
  }
  const onPush = (cmd: Command) => {
    if (cmd.name !== Cmd.HISTORY_ITEM) return;
    const [, seq = "", uuid = "", from = "", body = "", ts = ""] = cmd.args;
    app.out.debug(`my uuid is : ${uuid} seq ${seq} ts ${ts}`);
    app.out.line(`history ${name} ${seq} ${from} says : ${showText(body)}`);
  };
  app.session.on("push", onPush);
  try {
    const r = await app.session.request({ name: Cmd.HISTORY, args: [kind, name, ...rest] }, { retry: true, waitMs: app.readyWaitMs });
    app.out.line(`history ${name} end ${r.args[1] ?? "0"} ${r.args[2] ?? "0"}`);
  } finally {
    app.session.off("push", onPush);
  }
}
