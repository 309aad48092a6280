/**
 * Attachments over the msg_server's HTTP file endpoints (docs/PROTOCOL.md "Files"). Every request
 * carries the login token in `Authorization`; downloads become blob: URLs, so no token ends up in
 * an address, the history or a server log. Thumbnails and voice notes are fetched once and kept
 * for the page's lifetime (they are small); full files only when asked for.
 */

export class FileError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "FileError";
  }
}

export interface Uploaded {
  id: string;
  name: string;
  mime: string;
  size: number;
  thumbnailId: string | null;
}

async function failure(res: Response): Promise<FileError> {
  const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
  return new FileError(body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? `the server answered ${res.status}`);
}

/** `conv` is "p2p:<peer>" or a topic name, as the upload endpoint takes it. */
export async function upload(base: string, token: string, conv: string, file: Blob, name: string): Promise<Uploaded> {
  const url = `${base}?conv=${encodeURIComponent(conv)}&name=${encodeURIComponent(name)}`;
  const res = await fetch(url, { method: "POST", headers: { Authorization: `Bearer ${token}` }, body: file });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as Uploaded;
}

/** Bounded: beyond this many cached blobs the oldest is released (its element keeps what it decoded). */
const MAX_CACHED = 300;

export class FileCache {
  private readonly urls = new Map<string, Promise<string>>();

  constructor(private readonly auth: () => { base: string | null; token: string }) {}

  /** A blob: URL of the attachment, fetched once. */
  url(id: string): Promise<string> {
    let p = this.urls.get(id);
    if (!p) {
      p = this.fetchBlob(id).then((b) => URL.createObjectURL(b));
      p.catch(() => this.urls.delete(id));
      this.urls.set(id, p);
      if (this.urls.size > MAX_CACHED) {
        const [oldest, url] = this.urls.entries().next().value as [string, Promise<string>];
        this.urls.delete(oldest);
        void url.then((u) => URL.revokeObjectURL(u), () => undefined);
      }
    }
    return p;
  }

  async fetchBlob(id: string): Promise<Blob> {
    const { base, token } = this.auth();
    if (!base) throw new FileError("IM_ERR_UNAVAILABLE", "offline: files can be fetched once connected");
    const res = await fetch(`${base}/${encodeURIComponent(id)}`, { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) throw await failure(res);
    return res.blob();
  }

  /** Saves the file under its name: fetched with the token, handed to the browser as a blob. */
  async download(id: string, name: string): Promise<void> {
    const blob = await this.fetchBlob(id);
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    // The browser has taken the bytes once the click is handled; release them a little later.
    window.setTimeout(() => URL.revokeObjectURL(url), 30_000);
  }
}
