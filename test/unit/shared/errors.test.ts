import test from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { AuthError, CommandError, ErrorCode, errorFromReply, ImError, ProtocolError, toImError, UnavailableError } from "../../../shared/errors.js";

const doc = readFileSync(resolve(import.meta.dirname, "../../../../docs/ERRORS.md"), "utf8");
const documented = new Set([...doc.matchAll(/^\| `(IM_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]!));

test("every error code is documented in docs/ERRORS.md, and nothing else is", () => {
  const codes = new Set<string>(Object.values(ErrorCode));
  assert.deepEqual([...codes].filter((c) => !documented.has(c)), [], "codes missing from the doc");
  assert.deepEqual([...documented].filter((c) => !codes.has(c)), [], "documented codes that do not exist");
});

test("ERR replies parse back into typed errors", () => {
  const e = errorFromReply(["IM_ERR_TOPIC_EXISTS", "topic x already exists"]);
  assert.ok(e instanceof ImError);
  assert.equal(e.code, "IM_ERR_TOPIC_EXISTS");
  assert.equal(e.message, "topic x already exists");
  assert.equal(errorFromReply(["NOT_A_CODE", "?"]).code, "IM_ERR_INTERNAL");
  assert.match(errorFromReply(["NOT_A_CODE", "?"]).message, /NOT_A_CODE/, "the peer's unknown code is kept");
  assert.ok(e instanceof CommandError);
  assert.ok(errorFromReply(["IM_ERR_LINE_TOO_LONG", "x"]) instanceof ProtocolError);
  assert.ok(errorFromReply(["IM_ERR_AUTH_FAILED", "x"]) instanceof AuthError);
  assert.ok(errorFromReply(["IM_ERR_UNAVAILABLE", "x"]) instanceof UnavailableError);
  assert.ok(errorFromReply(["IM_ERR_TIMEOUT", "x"]) instanceof UnavailableError);
  assert.equal(toImError(new Error("boom")).code, "IM_ERR_INTERNAL");
  const own = new ImError(ErrorCode.IM_ERR_BAD_ARGS, "x");
  assert.equal(toImError(own), own);
});
