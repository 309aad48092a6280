/**
 * The body of a message that refers to an attachment: `fc+file:` and a JSON object
 * (docs/PROTOCOL.md, "A message that refers to an attachment"). Shared by the msg_server, which
 * checks and writes references (services/msg_server/attachment-ref.ts), and clients, which show them.
 */
import type { AttachmentInfo } from "../store/attachments.js";

export const ATTACHMENT_PREFIX = "fc+file:";

/** What a reference says, as recipients see it. */
export interface AttachmentRef {
  type: "file";
  id: string;
  name: string;
  mime: string;
  size: number;
  thumbnailId: string | null;
  caption?: string;
}

export function isAttachmentBody(body: string): boolean {
  return body.startsWith(ATTACHMENT_PREFIX);
}

/** The canonical body for an attachment (keys in a fixed order, caption last). */
export function formatRef(info: Pick<AttachmentInfo, "id" | "name" | "mime" | "size" | "thumbnailId">, caption?: string): string {
  const ref: AttachmentRef = { type: "file", id: info.id, name: info.name, mime: info.mime, size: info.size, thumbnailId: info.thumbnailId };
  if (caption !== undefined) ref.caption = caption;
  return ATTACHMENT_PREFIX + JSON.stringify(ref);
}

/** A received body's reference, or null when the body is not one (or not a well-formed one). */
export function readRef(body: string): AttachmentRef | null {
  if (!isAttachmentBody(body)) return null;
  try {
    const o = JSON.parse(body.slice(ATTACHMENT_PREFIX.length)) as Record<string, unknown>;
    if (o?.type !== "file" || typeof o.id !== "string" || typeof o.name !== "string" || typeof o.mime !== "string" || typeof o.size !== "number") return null;
    return {
      type: "file",
      id: o.id,
      name: o.name,
      mime: o.mime,
      size: o.size,
      thumbnailId: typeof o.thumbnailId === "string" ? o.thumbnailId : null,
      ...(typeof o.caption === "string" ? { caption: o.caption } : {}),
    };
  } catch {
    return null;
  }
}

