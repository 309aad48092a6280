/**
 * Line codec: one command per text line, `NAME arg arg ...`. Pure functions, no I/O.
 *
 * An argument is bare (a run of non-whitespace not starting with `"`) or a JSON string literal.
 * Only space and tab separate arguments, so everything else (including `\r` left over after the
 * framer stripped one CR) belongs to a bare argument. The formatter quotes whatever the parser
 * could not read back unchanged, or whatever would not survive UTF-8 (lone surrogates), so
 * `parseLine(formatLine(n, a))` always returns `a`. docs/PROTOCOL.md ("Line codec") is the reference.
 */
import { ErrorCode, ProtocolError } from "../errors.js";
import type { Command } from "./commands.js";

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;
const SEPARATORS_RE = /[ \t]+/;

const SPACE = 0x20;
const TAB = 0x09;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function badLine(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.IM_ERR_BAD_LINE, message);
}

function isSeparator(c: number): boolean {
  return c === SPACE || c === TAB;
}

function checkName(token: string): string {
  if (!NAME_RE.test(token)) throw badLine(`bad command name: ${JSON.stringify(token.slice(0, 40))}`);
  return token.toUpperCase();
}

/** Parse one line (terminator already stripped). Throws ProtocolError(IM_ERR_BAD_LINE). */
export function parseLine(line: string): Command {
  // Hot path: without a quote, arguments cannot contain separators, so one split does it.
  if (line.indexOf('"') === -1) return parseUnquoted(line);
  return parseQuoted(line);
}

function parseUnquoted(line: string): Command {
  // split(" ") is much faster than a regex split; tabs are rare, so take the regex only then.
  const tokens = line.indexOf("\t") === -1 ? line.split(" ") : line.split(SEPARATORS_RE);
  let name: string | undefined;
  const args: string[] = [];
  for (const t of tokens) {
    if (t === "") continue; // leading, trailing or repeated separators
    if (name === undefined) name = t;
    else args.push(t);
  }
  if (name === undefined) throw badLine("empty line");
  return { name: checkName(name), args };
}

function parseQuoted(line: string): Command {
  const len = line.length;
  let i = 0;
  while (i < len && isSeparator(line.charCodeAt(i))) i++;
  if (i === len) throw badLine("empty line");
  let start = i;
  while (i < len && !isSeparator(line.charCodeAt(i))) i++;
  const name = checkName(line.slice(start, i));
  const args: string[] = [];
  for (;;) {
    while (i < len && isSeparator(line.charCodeAt(i))) i++;
    if (i === len) break;
    start = i;
    if (line.charCodeAt(i) !== QUOTE) {
      while (i < len && !isSeparator(line.charCodeAt(i))) i++;
      args.push(line.slice(start, i));
      continue;
    }
    // A JSON string literal: find its closing quote, skipping escaped characters.
    i++;
    let plain = true; // no escapes and no raw control characters: the content is the value
    for (;;) {
      if (i >= len) throw badLine(`unterminated string at column ${start + 1}`);
      const c = line.charCodeAt(i);
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        plain = false;
        i += 2;
        continue;
      }
      if (c < SPACE) plain = false; // JSON forbids these raw; JSON.parse reports it below
      i++;
    }
    i++; // past the closing quote
    if (plain) {
      args.push(line.slice(start + 1, i - 1));
    } else {
      let value: unknown;
      try {
        value = JSON.parse(line.slice(start, i));
      } catch {
        throw badLine(`invalid string at column ${start + 1}`);
      }
      args.push(value as string); // a JSON text that starts and ends with `"` is a string
    }
    if (i < len && !isSeparator(line.charCodeAt(i))) {
      throw badLine(`string at column ${start + 1} is followed by ${JSON.stringify(line[i])}`);
    }
  }
  return { name, args };
}

/**
 * True when `s` must be written as a JSON string: empty, or containing a separator, a quote,
 * a C0/C1 control character or DEL, U+2028/U+2029 (line breaks to many editors and to
 * JavaScript before ES2019), or a lone surrogate (UTF-8 cannot carry it; `\uD800` can).
 */
function needsQuotes(s: string): boolean {
  // One native regex scan instead of a JS loop per character: this runs for every argument of
  // every line we write (4% of a msg_server's CPU in the p2p benchmark before).
  return s.length === 0 || NEEDS_QUOTES_RE.test(s);
}

// Without the `u` flag the regex sees UTF-16 code units, so the lookarounds find lone surrogates.
const NEEDS_QUOTES_RE = /[\u0000-\u0020"\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

// JSON.stringify escapes only C0 controls, `"` and `\\`; these would still appear raw, and some
// tools treat them as line breaks (U+0085, U+2028, U+2029) or hide them (DEL, C1 controls).
const RAW_IN_JSON_RE = /[\u007f-\u009f\u2028\u2029]/;
const RAW_IN_JSON_RE_G = /[\u007f-\u009f\u2028\u2029]/g;

function quote(s: string): string {
  const json = JSON.stringify(s);
  if (!RAW_IN_JSON_RE.test(json)) return json;
  return json.replace(RAW_IN_JSON_RE_G, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/**
 * One argument as it appears on a line: bare when that reads back unchanged, else a JSON string
 * (JSON.stringify, with DEL, C1 controls and U+2028/U+2029 escaped too, so quoted output holds
 * no control or line-break character).
 */
export function formatArg(s: string): string {
  return needsQuotes(s) ? quote(s) : s;
}

/**
 * `NAME arg1 arg2\n`. Throws TypeError for a name the parser would reject: names come from our
 * own code (Cmd constants), so a bad one is a bug, not a peer error.
 */
export function formatLine(name: string, args: readonly string[]): string {
  if (!NAME_RE.test(name)) throw new TypeError(`invalid command name ${JSON.stringify(name)}`);
  let out = name;
  for (const a of args) out += " " + formatArg(a);
  return out + "\n";
}

export function formatCommand(cmd: Command): string {
  return formatLine(cmd.name, cmd.args);
}
