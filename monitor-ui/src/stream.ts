import { AuthRequired, authHeaders } from "./api.js";

export interface StreamEvent {
  event: string;
  data: unknown;
}

/**
 * GET api/events read with fetch rather than EventSource: EventSource cannot send an
 * Authorization header, and a token in the URL would end up in logs.
 */
export async function* readEvents(signal: AbortSignal): AsyncGenerator<StreamEvent> {
  const res = await fetch("api/events", { headers: { ...authHeaders(), Accept: "text/event-stream" }, cache: "no-store", signal });
  if (res.status === 401) throw new AuthRequired(res.headers.get("www-authenticate")?.startsWith("Basic") ? "basic" : "bearer");
  if (!res.ok || !res.body) throw new Error(`event stream: HTTP ${res.status}`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let end: number;
    while ((end = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const ev = parseBlock(block);
      if (ev) yield ev;
    }
  }
}

/** One SSE block; comments (keep-alives) and `retry:` lines yield nothing. */
function parseBlock(block: string): StreamEvent | null {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (data.length === 0) return null;
  return { event, data: JSON.parse(data.join("\n")) as unknown };
}
