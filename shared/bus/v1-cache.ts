/**
 * FishChatServer v1's Redis cache (`IM:<id>session`, `IM:<name>topic`, reference §5.2), which
 * the manager keeps so tools reading v1's layout keep working. A cache, never the truth: the
 * store holds membership and the session directory holds locations.
 */
export interface V1Cache {
  putSession(clientId: string, value: object, ttlMs: number): Promise<void>;
  /** Delete the session entry only if it still names `serverId` (a newer login elsewhere keeps its entry). */
  dropSessionIfServer(clientId: string, serverId: string): Promise<boolean>;
  putTopic(name: string, value: object, ttlMs: number): Promise<void>;
  getSession(clientId: string): Promise<Record<string, unknown> | null>;
  getTopic(name: string): Promise<Record<string, unknown> | null>;
}
