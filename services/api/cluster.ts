import { ErrorCode, UnavailableError } from "../../shared/errors.js";
import type { Link } from "../../shared/net/link.js";

/**
 * How the API acts on the cluster: ADMIN_* commands (docs/PROTOCOL.md) on its authenticated
 * internal links, one per msg_server, spread round robin over the links that are up. Any
 * msg_server will do: they share the store, and each routes what it commits.
 */
export class ClusterClient {
  private next = 0;

  constructor(
    private readonly links: () => Link[],
    private readonly timeoutMs: number,
  ) {}

  /** How many msg_servers the API can reach now. */
  get linksUp(): number {
    return this.links().filter((l) => l.isUp).length;
  }

  /** Send `name args...`; resolves with the OK reply's arguments after the command name, rejects with the ERR's typed error. */
  async call(name: string, args: readonly string[]): Promise<string[]> {
    const up = this.links().filter((l) => l.isUp);
    if (up.length === 0) throw new UnavailableError(ErrorCode.IM_ERR_UNAVAILABLE, "no msg_server is reachable; retry later");
    const link = up[this.next++ % up.length]!;
    const reply = await link.request({ name, args: [...args] }, this.timeoutMs);
    return reply.args.slice(1);
  }

  /** A reply argument that is JSON (the ADMIN_* commands that answer with an object). */
  async callJson<T>(name: string, args: readonly string[]): Promise<T> {
    const [json] = await this.call(name, args);
    return JSON.parse(json ?? "null") as T;
  }
}
