/**
 * ownString (shared/validate.ts): an id cut from a login line must not keep the line, with its
 * bearer token, alive. Checked in a real heap snapshot: the line's marker is found while a plain
 * slice is held (so the test can fail) and gone once only ownString's copy is.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { getHeapSnapshot } from "node:v8";
import { ownString } from "../../../shared/validate.js";

async function heapHas(marker: string): Promise<boolean> {
  let text = "";
  for await (const chunk of getHeapSnapshot()) text += chunk;
  return text.includes(marker);
}

/** A login line built at run time (not a literal the snapshot would hold anyway), and an id cut from it. */
function cut(marker: string): string {
  const line = ["SEND_CLIENT_ID", "a-client-id-of-20ch", `${marker}.${"t".repeat(200)}`].join(" ");
  return line.slice(15, 34);
}

test("a slice keeps its login line alive; ownString's copy does not", async () => {
  const kept = `tok-${randomUUID()}`;
  const held = [cut(kept)];
  assert.equal(held[0], "a-client-id-of-20ch");
  assert.equal(await heapHas(kept), true, "a plain slice retains the line (V8 sliced string)");

  const freed = `tok-${randomUUID()}`;
  const own = [ownString(cut(freed))];
  assert.equal(own[0], "a-client-id-of-20ch");
  assert.equal(await heapHas(freed), false, "the copy does not retain the line");
  assert.equal(ownString("short"), "short");
});
