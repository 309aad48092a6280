#!/usr/bin/env node
import type { P2PMessage } from "../../shared/client/client.js";
import type { Command } from "../../shared/protocol/commands.js";
import { baseProgram, ExitCode, parseCommon, type CommonFlags } from "../client_common/cli.js";
import { runLines, startClient } from "../client_common/start.js";
import { showText } from "../client_common/output.js";
import { handleP2PLine, onP2P, P2P_HELP } from "./commands.js";

interface P2PFlags extends CommonFlags {
  send?: unknown;
  cmd?: unknown;
  olu?: unknown;
}

/** Flag actions in the order given, as input lines. */
const actions: string[] = [];
const collect = (toLine: (v: string) => string) => (v: string) => {
  actions.push(toLine(v));
  return true;
};

const program = baseProgram("client_p2p", "FishChat terminal client for one-to-one messages")
  .option("--send <'id text'>", "send `text` to `id` (repeatable; done in order, then exit)", collect((v) => v))
  .option("--cmd <line>", "run one input line, e.g. ':olu' (repeatable; in order with --send)", collect((v) => v))
  .option("--olu", "list online users (same as --cmd :olu)")
  .addHelpText(
    "after",
    [
      "",
      "Input lines (stdin, a terminal or a pipe; not read when --send/--cmd/--olu are given):",
      ...P2P_HELP.map((l) => `  ${l}`),
      "",
      "Output (stdout, one record per line; errors on stderr as `error <CODE> <message>`):",
      "  connected to <addr> as <id> | reconnecting in <ms> ms (<why>) | reconnected to <addr> as <id>",
      "  <from> says : <text>        | sent to <id> seq <seq> uuid <uuid> | online <id>...",
      "",
      "Exit codes: 0 ok, 1 a command failed / no login / --expect timed out, 2 bad flags or config,",
      "3 kicked (the same id logged in elsewhere). See docs/CLIENTS.md.",
    ].join("\n"),
  );

program.on("option:olu", () => actions.push(":olu"));

async function main(): Promise<void> {
  const { flags, cfg } = parseCommon<P2PFlags>(program, process.argv);
  const readStdin = actions.length === 0;
  const started = await startClient(flags, cfg, readStdin);
  if (!started) return;
  const { app, input } = started;
  app.session.on("p2p", (m: P2PMessage) => onP2P(app, m));
  app.session.on("push", (cmd: Command) => app.out.debug(`push ${cmd.name} ${cmd.args.map(showText).join(" ")}`));
  const queue = [...actions];
  const next = input ? () => input.next() : () => Promise.resolve(queue.shift() ?? null);
  if (input?.tty) input.setPrompt("> ");
  await runLines(app, next, (line) => handleP2PLine(app, line));
}

main().catch((err: unknown) => {
  process.stderr.write(`error IM_ERR_INTERNAL ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(ExitCode.FAILED);
});
