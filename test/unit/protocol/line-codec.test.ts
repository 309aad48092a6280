import assert from "node:assert/strict";
import test from "node:test";
import { ErrorCode, ProtocolError } from "../../../shared/errors.js";
import { formatArg, formatCommand, formatLine, parseLine } from "../../../shared/protocol/line-codec.js";
import { LINE_CASES, LINE_REJECTIONS } from "../../fixtures/protocol-lines.js";

for (const [name, line, command, canonical] of LINE_CASES) {
  test(`parse: ${name}`, () => {
    assert.deepEqual(parseLine(line), command);
  });

  test(`format: ${name}`, () => {
    assert.equal(formatCommand(command), (canonical ?? line) + "\n");
  });

  test(`round trip: ${name}`, () => {
    // parse(format(cmd)) == cmd, and the canonical form is a fixed point of format(parse(.)).
    const formatted = formatCommand(command);
    assert.deepEqual(parseLine(formatted.slice(0, -1)), command);
    assert.equal(formatCommand(parseLine(formatted.slice(0, -1))), formatted);
  });
}

for (const [line, code] of LINE_REJECTIONS) {
  test(`reject ${JSON.stringify(line)}`, () => {
    assert.throws(
      () => parseLine(line),
      (err: unknown) => err instanceof ProtocolError && err.code === code,
    );
  });
}

test("the fixtures cover both parser paths and every rejection reason", () => {
  assert.ok(LINE_CASES.some(([, line]) => line.includes('"')));
  assert.ok(LINE_CASES.some(([, line]) => !line.includes('"') && line.includes("\t")));
  assert.ok(LINE_REJECTIONS.length >= 10);
});

test("formatArg: bare when safe, JSON string otherwise", () => {
  const cases: [string, string][] = [
    ["alice", "alice"],
    ["héllo😀", "héllo😀"],
    ["a\\b", "a\\b"], // a backslash is literal in a bare arg
    ["", '""'],
    ["a b", '"a b"'],
    ["a\tb", '"a\\tb"'],
    ['"', '"\\""'],
    ['a"b', '"a\\"b"'],
    ["\u0000", '"\\u0000"'],
    ["\u007f", '"\\u007f"'],
    ["x\u0085", '"x\\u0085"'],
    ["\u2028", '"\\u2028"'],
    ["\u2029", '"\\u2029"'],
    ["\ud800", '"\\ud800"'], // lone high surrogate
    ["a\udc00", '"a\\udc00"'], // lone low surrogate
    ["\ud83d", '"\\ud83d"'], // high surrogate at the end
  ];
  for (const [input, expected] of cases) assert.equal(formatArg(input), expected, JSON.stringify(input));
});

test("formatArg output never holds a raw line break or control character", () => {
  for (let c = 0; c < 0xa0; c++) {
    const out = formatArg(`a${String.fromCharCode(c)}b`);
    assert.doesNotMatch(out, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/, `U+${c.toString(16)}`);
    assert.deepEqual(parseLine(`X ${out}`).args, [`a${String.fromCharCode(c)}b`]);
  }
});

test("formatLine ends with LF and separates with single spaces", () => {
  assert.equal(formatLine("SEND_PING", ["PING"]), "SEND_PING PING\n");
  assert.equal(formatLine("REQ_MSG_SERVER", []), "REQ_MSG_SERVER\n");
  assert.equal(formatLine("X", ["a b", "", "c"]), 'X "a b" "" c\n');
});

test("formatLine rejects a name the parser would not accept", () => {
  for (const name of ["", "A B", "1X", "X\n", "é"]) {
    assert.throws(() => formatLine(name, []), TypeError, JSON.stringify(name));
  }
});

test("parse errors carry IM_ERR_BAD_LINE and say why", () => {
  assert.throws(() => parseLine('X "abc'), { code: ErrorCode.IM_ERR_BAD_LINE, message: /unterminated/ });
  assert.throws(() => parseLine('X "a"b'), { code: ErrorCode.IM_ERR_BAD_LINE, message: /followed by/ });
  assert.throws(() => parseLine("9"), { code: ErrorCode.IM_ERR_BAD_LINE, message: /name/ });
});
