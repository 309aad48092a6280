import type { ClientApp } from "../client_common/app.js";
import type { LineInput } from "../client_common/input.js";
import { parseText } from "../client_common/output.js";
import { createTopic, joinTopic, sendTopic, type TopicState } from "./commands.js";

/** The questions of FishChatServer v1's client_topic (reference §8), printed exactly. */
export const V1 = {
  create: "want to create a topic (y/n) :",
  createName: "CREATE_TOPIC_CMD | input topic name :",
  joinName: "JOIN_TOPIC_CMD | input topic name :",
  joinId: "JOIN_TOPIC_CMD | input your ID :",
  anotherServer: "to another server",
  msg: "input topic msg :",
} as const;

/**
 * v1's question-and-answer pass: create (y/n), join (name, id), print the LOCATE_TOPIC_MSG_ADDR
 * answer, follow it to another server if it names one, then send. Unlike v1, answers may contain
 * spaces, and after the first message it keeps asking for more until EOF (v1 sent one per run).
 * `answered`: the create answer when the caller already read it (auto-detected mode).
 */
export async function runV1Flow(app: ClientApp, st: TopicState, input: LineInput, answered?: string): Promise<void> {
  const yn = answered !== undefined ? answered.trim() : await input.ask(V1.create);
  if (yn === null) return;
  if (/^y(es)?$/i.test(yn)) {
    const name = await input.ask(V1.createName);
    if (name === null) return;
    await createTopic(app, st, name).catch((err: unknown) => app.fail(err));
  }
  const joined = await join(app, st, input);
  if (joined === null) return;
  const [addr, topic] = joined;
  if (addr !== app.session.addr) {
    // v1 compared the answer with the gateway's address and moved there; our servers always answer with their own.
    app.out.line(V1.anotherServer);
    try {
      await app.session.moveTo(addr);
    } catch (err) {
      app.fail(err);
      return;
    }
    if ((await join(app, st, input)) === null) return;
  }
  for (;;) {
    const msg = await input.ask(V1.msg);
    if (msg === null) return;
    if (msg === "") continue;
    await sendTopic(app, st.current ?? topic, parseText(msg)).catch((err: unknown) => app.fail(err));
  }
}

/** The two join questions and JOIN_TOPIC; null at EOF or when the join failed. */
async function join(app: ClientApp, st: TopicState, input: LineInput): Promise<[string, string] | null> {
  const name = await input.ask(V1.joinName);
  if (name === null) return null;
  const id = await input.ask(V1.joinId);
  if (id === null) return null;
  try {
    const [addr, topic] = await joinTopic(app, st, name, id || app.session.clientId);
    app.out.line(`LOCATE_TOPIC_MSG_ADDR ${addr} ${topic}`);
    return [addr, topic];
  } catch (err) {
    app.fail(err);
    return null;
  }
}
