import { ErrorCode } from "../../shared/errors.js";
import { ClientApp } from "./app.js";
import { ExitCode, tokenSource, validId, type CommonFlags } from "./cli.js";
import type { ClientConfig } from "./config.js";
import { LineInput } from "./input.js";
import { Output } from "./output.js";
import { ClientSession } from "./session.js";

export interface Started {
  app: ClientApp;
  /** stdin, when the client reads commands from it. */
  input: LineInput | null;
}

/**
 * Common start of both clients: the id (flag, or v1's `input my id :` question), the session
 * through the gateway, signals. Resolves null when the client already exited.
 */
export async function startClient(flags: CommonFlags, cfg: ClientConfig, readStdin: boolean): Promise<Started | null> {
  const out = new Output(Boolean(flags.verbose));
  let input: LineInput | null = readStdin || !flags.id ? new LineInput(out) : null;
  let id = flags.id;
  if (id === undefined) {
    const answer = await input!.ask("input my id :");
    const v = answer === null ? null : validId(answer);
    if (typeof v !== "string") {
      out.error(v?.code ?? ErrorCode.IM_ERR_BAD_CLIENT_ID, v?.message ?? "no id given: use --id or type it");
      input!.close();
      process.exitCode = ExitCode.FAILED;
      return null;
    }
    id = v;
  }
  if (!readStdin && input) {
    input.close();
    input = null;
  }
  const session = new ClientSession({
    gateway: cfg.gatewayServer,
    server: flags.server,
    clientId: id,
    token: tokenSource(flags, () => id),
    codec: cfg.codec,
    heartbeatMs: cfg.heartbeatMs,
    requestTimeoutMs: cfg.requestTimeoutMs,
    connectTimeoutMs: cfg.connectTimeoutMs,
    reconnectMinMs: cfg.reconnectMinMs,
    reconnectMaxMs: cfg.reconnectMaxMs,
  });
  const app = new ClientApp(out, session, { interactive: Boolean(input?.tty), waitMs: flags.waitMs, expect: flags.expect });
  if (input) {
    const i = input;
    app.atExit(() => i.close());
    i.onInterrupt(() => app.exit(ExitCode.OK));
  }
  // A closed stdout (`client_p2p | head -1`) ends the client instead of crashing it.
  process.stdout.on("error", () => app.exit(ExitCode.OK));
  process.once("SIGINT", () => app.exit(ExitCode.OK));
  process.once("SIGTERM", () => app.exit(ExitCode.OK));
  try {
    await session.start();
  } catch (err) {
    app.fail(err);
    app.exit(ExitCode.FAILED);
    return null;
  }
  return { app, input };
}

/**
 * Feed lines to a handler in order, one at a time, until EOF or the handler says "quit"; then
 * finish (replies, --expect, --wait-ms) and exit.
 */
export async function runLines(app: ClientApp, next: () => Promise<string | null>, handle: (line: string) => Promise<"quit" | undefined>): Promise<void> {
  let quit = false;
  for (;;) {
    const line = await next();
    if (line === null) break;
    if ((await handle(line)) === "quit") {
      quit = true;
      break;
    }
  }
  // :q on a terminal leaves at once; EOF or a script waits for what it asked for.
  const code = quit && app.opts.interactive ? ExitCode.OK : await app.finish();
  app.exit(code);
}
