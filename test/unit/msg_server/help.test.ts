import assert from "node:assert/strict";
import test from "node:test";
import { Cmd } from "../../../shared/protocol/commands.js";
import { HANDLERS } from "../../../services/msg_server/handlers/index.js";
import { HELP_TEXT } from "../../../services/msg_server/handlers/help.js";
import { startCore } from "../../support/core.js";

test("HELP covers every command a client may send, and no internal one", () => {
  for (const [name, h] of Object.entries(HANDLERS)) {
    // AUTH is how internal links log in: open to any connection, but not a client's command.
    if (h.access === "internal" || name === Cmd.AUTH) assert.equal(HELP_TEXT[name], undefined, `${name} is internal: not in HELP`);
    else assert.ok(HELP_TEXT[name], `${name} has a HELP entry`);
  }
  for (const name of Object.keys(HELP_TEXT)) assert.ok(HANDLERS[name], `HELP names ${name}, which has a handler`);
});

test("HELP before login lists usages; HELP <command> explains one; an unknown one is a coded error", async (t) => {
  const h = await startCore(t);
  const p = h.connect();
  const all = await p.request("HELP");
  assert.equal(all.name, Cmd.OK);
  assert.equal(all.args[0], Cmd.HELP);
  assert.ok(all.args.includes("SEND_MESSAGE_P2P <to> <msg> [from] [cmid]"), all.args.join(" | "));
  const one = await p.request("help send_message_p2p");
  assert.deepEqual(one.args.slice(0, 2), [Cmd.HELP, "SEND_MESSAGE_P2P <to> <msg> [from] [cmid]"]);
  assert.match(one.args[2]!, /quote/);
  const bad = await p.request("HELP NO_SUCH");
  assert.deepEqual(bad.args.slice(0, 1), ["IM_ERR_UNKNOWN_COMMAND"]);
  assert.equal((await p.request("HELP A B")).args[0], "IM_ERR_BAD_ARGS");
});

test("HELP's usage is the one each command's IM_ERR_BAD_ARGS names", async (t) => {
  const h = await startCore(t);
  const tok = await h.token("alice");
  const tooMany = Array.from({ length: 12 }, () => "x").join(" ");
  let compared = 0;
  for (const [name, { usage }] of Object.entries(HELP_TEXT)) {
    // A connection each: LOGOUT ends its own.
    const conn = h.connect();
    if (name !== Cmd.SEND_CLIENT_ID) await conn.request(`SEND_CLIENT_ID alice ${tok}`);
    const r = await conn.request(`${name} ${tooMany}`);
    if (r.name === Cmd.ERR && r.args[0] === "IM_ERR_BAD_ARGS" && r.args[1]?.startsWith("usage: ")) {
      assert.equal(r.args[1], `usage: ${usage}`, name);
      compared++;
    }
  }
  assert.ok(compared >= 20, `usages compared: ${compared}`);
});

test("the from-mismatch error of unquoted words says how to quote", async (t) => {
  const h = await startCore(t);
  const p = h.connect();
  await p.request(`SEND_CLIENT_ID alice ${await h.token("alice")}`);
  const r = await p.request("SEND_MESSAGE_P2P bob hi there");
  assert.equal(r.args[0], "IM_ERR_FROM_MISMATCH");
  assert.match(r.args[1]!, /quoted: SEND_MESSAGE_P2P bob "hi there"/);
});
