/**
 * Messages that refer to an attachment: a body `fc+file:{"type":"file","id":...}`
 * (docs/PROTOCOL.md, "A message that refers to an attachment"). On send the reference is checked
 * against the store (exists, the sender's, this conversation's, not a thumbnail) and rewritten
 * from what the store says, so recipients on every transport see true names, types and sizes.
 */
import { CommandError, ErrorCode } from "../../shared/errors.js";
import type { Store } from "../../shared/store/store.js";
import { ATTACHMENT_PREFIX, formatRef, isAttachmentBody } from "../../shared/protocol/attachment-ref.js";

export const MAX_CAPTION_CHARS = 1000;


function bad(message: string): CommandError {
  return new CommandError(ErrorCode.IM_ERR_BAD_ATTACHMENT, message);
}

/** The id and caption a sender's reference names; IM_ERR_BAD_ATTACHMENT when it is not a reference. */
export function parseSentRef(body: string): { id: string; caption?: string } {
  let v: unknown;
  try {
    v = JSON.parse(body.slice(ATTACHMENT_PREFIX.length));
  } catch {
    throw bad(`a body starting with ${ATTACHMENT_PREFIX} must continue with a JSON object {"type":"file","id":"..."}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(`${ATTACHMENT_PREFIX} must be followed by a JSON object`);
  const o = v as Record<string, unknown>;
  if (o.type !== "file") throw bad('an attachment reference has "type": "file"');
  if (typeof o.id !== "string" || o.id.length === 0 || o.id.length > 64) throw bad('an attachment reference needs "id", the id the upload returned');
  if (o.caption !== undefined && (typeof o.caption !== "string" || o.caption.length > MAX_CAPTION_CHARS)) throw bad(`"caption" must be a string of at most ${MAX_CAPTION_CHARS} characters`);
  return o.caption === undefined ? { id: o.id } : { id: o.id, caption: o.caption };
}

/**
 * The body to store for a sent message in `conv`: unchanged when it is not a reference, else the
 * canonical reference. Someone else's attachment is "no such attachment", exactly like an
 * unknown id, so a sender cannot probe ids.
 */
export async function checkedBody(store: Pick<Store, "attachmentInfo">, sender: string, conv: string, body: string): Promise<string> {
  if (!isAttachmentBody(body)) return body;
  const { id, caption } = parseSentRef(body);
  const info = await store.attachmentInfo(id);
  if (!info || info.owner !== sender) throw new CommandError(ErrorCode.IM_ERR_NO_SUCH_ATTACHMENT, `no attachment ${JSON.stringify(id)} of yours`);
  if (info.thumbnailOf !== null) throw bad("that is a thumbnail: refer to the original file");
  if (info.conv !== conv) throw bad("that attachment belongs to another conversation: upload it again with this conversation's conv");
  return formatRef(info, caption);
}

/**
 * Sends of one session keep their order even when a reference must be checked first: a send
 * with a reference, and every send behind it until it settled, go through a chain; other sends
 * call the store at once (which keeps call order, store.ts). Keyed weakly by the session.
 */
const gates = new WeakMap<object, Promise<unknown>>();

export function orderedSend<T>(session: object, body: string, check: (body: string) => Promise<string>, append: (body: string) => Promise<T>): Promise<T> {
  const gate = gates.get(session);
  if (!gate && !isAttachmentBody(body)) return append(body);
  const run = (gate ?? Promise.resolve()).then(
    () => check(body).then(append),
    () => check(body).then(append),
  );
  gates.set(session, run);
  const clear = () => {
    if (gates.get(session) === run) gates.delete(session);
  };
  run.then(clear, clear);
  return run;
}
