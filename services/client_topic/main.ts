#!/usr/bin/env node
import type { TopicMessage } from "../../shared/client/client.js";
import type { Command } from "../../shared/protocol/commands.js";
import { baseProgram, ExitCode, parseCommon, type CommonFlags } from "../client_common/cli.js";
import { runLines, startClient } from "../client_common/start.js";
import { handleTopicLine, onTopic, onTopicPush, TOPIC_HELP, type TopicState } from "./commands.js";
import { runV1Flow, V1 } from "./v1-flow.js";

interface TopicFlags extends CommonFlags {
  v1?: boolean;
}

/** Flag actions in the order given, as command lines. */
const actions: string[] = [];
const as = (prefix: string) => (v: string) => {
  actions.push(`${prefix} ${v}`);
  return true;
};

const program = baseProgram("client_topic", "FishChat terminal client for topics (group chat)")
  .option("--create <topic>", "create a topic (repeatable; all actions run in the order given, then exit)", as("/create"))
  .option("--join <topic>", "join a topic", as("/join"))
  .option("--quit <topic>", "leave a topic", as("/quit"))
  .option("--send <'topic text'>", "post `text` to `topic`", as("/send"))
  .option("--members <topic>", "list a topic's members", as("/members"))
  .option("--topics", "list topics")
  .option("--mine", "list the topics I belong to")
  .option("--cmd <line>", "run one command line, e.g. '/history golang'", (v: string) => {
    actions.push(v);
    return true;
  })
  .option("--v1", "FishChatServer v1's question-and-answer flow (create y/n, join, send) instead of /commands")
  .addHelpText(
    "after",
    [
      "",
      "Commands (stdin, a terminal or a pipe; not read when action flags are given):",
      ...TOPIC_HELP.map((l) => `  ${l}`),
      "",
      "--v1 asks FishChatServer v1's questions instead of reading commands:",
      `  ${V1.create} / ${V1.createName} / ${V1.joinName} / ${V1.joinId} / ${V1.msg}`,
      "",
      "Output (stdout, one record per line; errors on stderr as `error <CODE> <message>`):",
      "  connected to <addr> as <id> | [<topic>] <from> says : <text> | sent to <topic> seq <n> uuid <u>",
      "  created <t> | joined <t> at <addr> | left <t> | topics ... | members ... | mine ... | gap <t> <n>",
      "",
      "Exit codes: 0 ok, 1 a command failed / no login / --expect timed out, 2 bad flags or config,",
      "3 kicked (the same id logged in elsewhere). See docs/CLIENTS.md.",
    ].join("\n"),
  );
program.on("option:topics", () => actions.push("/topics"));
program.on("option:mine", () => actions.push("/mine"));

async function main(): Promise<void> {
  const { flags, cfg } = parseCommon<TopicFlags>(program, process.argv);
  if (flags.v1 && actions.length > 0) {
    process.stderr.write("client_topic: --v1 cannot be combined with action flags\n");
    process.exit(ExitCode.USAGE);
  }
  // /commands (the README's way) unless v1's questions are asked for: a first line "y" meant for
  // v1's "want to create a topic" is reported with a hint to --v1 (handleTopicLine).
  const mode = flags.v1 ? "v1" : actions.length > 0 ? "flags" : "stdin";
  const started = await startClient(flags, cfg, mode !== "flags");
  if (!started) return;
  const { app, input } = started;
  const st: TopicState = { current: null };
  app.session.on("topic", (m: TopicMessage) => onTopic(app, m));
  app.session.on("push", (cmd: Command) => onTopicPush(app, cmd));
  if (mode === "flags" || !input) {
    const queue = [...actions];
    await runLines(app, () => Promise.resolve(queue.shift() ?? null), (line) => handleTopicLine(app, st, line));
  } else if (mode === "v1") {
    await runV1Flow(app, st, input);
    app.exit(await app.finish());
  } else {
    if (input.tty) {
      app.out.line("type /help for commands (--v1: FishChatServer v1's questions instead)");
      input.setPrompt("> ");
    }
    await runLines(app, () => input.next(), (line) => handleTopicLine(app, st, line));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`error IM_ERR_INTERNAL ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(ExitCode.FAILED);
});
