import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";

const DOC_FILE = resolve(import.meta.dirname, "../../../docs/server-api.openapi.json");
const DOC_ID = "https://fishchat.invalid/server-api.openapi.json";

interface Operation {
  responses: Record<string, { $ref?: string; content?: { "application/json"?: { schema: unknown } } }>;
}
type Doc = { paths: Record<string, Record<string, Operation>>; components: { responses: Record<string, Operation["responses"][string]> } };

/**
 * Checks answers of the running server API against docs/server-api.openapi.json: the path and
 * method must be documented, the status listed for that operation, and the JSON body valid
 * against its schema (JSON Schema 2020-12, as OpenAPI 3.1 uses; ajv does the validating).
 */
export class OpenApiChecker {
  readonly doc: Doc;
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  /** Every "METHOD path status" checked, to tell which operations the tests never reached. */
  readonly seen = new Set<string>();

  constructor() {
    this.doc = JSON.parse(readFileSync(DOC_FILE, "utf8")) as Doc;
    this.ajv.addFormat("date-time", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    this.ajv.addSchema({ ...this.doc, $id: DOC_ID });
  }

  /** A webhook event body against components.schemas.WebhookEvent. */
  ajvCheckWebhook(event: unknown): void {
    const validate = this.ajv.getSchema(`${DOC_ID}#/components/schemas/WebhookEvent`)!;
    if (!validate(event)) throw new Error(`webhook event does not fit the document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(event)}`);
  }

  /** The documented path template matching a concrete path ("/v1/topics/x" -> "/v1/topics/{name}"). */
  template(path: string): string | null {
    for (const t of Object.keys(this.doc.paths)) {
      const re = new RegExp(`^${t.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{[^}]+\}/g, "[^/]+")}$`);
      if (re.test(path)) return t;
    }
    return null;
  }

  /** Throws with the reasons when the answer does not fit the document. */
  check(method: string, path: string, status: number, body: unknown): void {
    const t = this.template(path.split("?")[0]!);
    if (!t) throw new Error(`${method} ${path}: no such path in the OpenAPI document`);
    const op = this.doc.paths[t]![method.toLowerCase()];
    if (!op) throw new Error(`${method} ${t}: method not documented`);
    let r = op.responses[String(status)];
    if (!r) throw new Error(`${method} ${t}: status ${status} not documented (documented: ${Object.keys(op.responses).join(", ")})`);
    if (r.$ref) r = this.doc.components.responses[r.$ref.split("/").pop()!]!;
    this.seen.add(`${method.toUpperCase()} ${t} ${status}`);
    if (!r.content?.["application/json"]) return;
    const pointer = r === op.responses[String(status)] ? `#/paths/${t.replaceAll("~", "~0").replaceAll("/", "~1")}/${method.toLowerCase()}/responses/${status}` : `#/components/responses/${(op.responses[String(status)]!.$ref ?? "").split("/").pop()}`;
    const validate = this.ajv.getSchema(`${DOC_ID}${pointer}/content/application~1json/schema`);
    if (!validate) throw new Error(`${method} ${t} ${status}: schema not found`);
    if (!validate(body)) throw new Error(`${method} ${t} ${status}: body does not fit the document: ${this.ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`);
  }
}

/** An answer's JSON, already checked against the document: tests read its fields directly. */
// biome-ignore lint/suspicious/noExplicitAny: the schema check above is the type check
type Body = Record<string, any>;

/** A client of the server API that checks every answer against the document. */
export function apiClient(baseUrl: string, key: string, checker: OpenApiChecker) {
  return async function call(method: string, path: string, body?: unknown, opts: { key?: string | null; raw?: string; contentType?: string } = {}) {
    const headers: Record<string, string> = {};
    const k = opts.key === undefined ? key : opts.key;
    if (k !== null) headers.authorization = `Bearer ${k}`;
    let payload: string | undefined;
    if (opts.raw !== undefined) payload = opts.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers["content-type"] = opts.contentType ?? "application/json";
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body: payload });
    const text = await res.text();
    const json: unknown = text === "" ? undefined : JSON.parse(text);
    checker.check(method, path, res.status, json);
    return { status: res.status, body: json as Body, headers: res.headers };
  };
}
