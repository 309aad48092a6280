/**
 * The conversation id of a p2p pair, independent of direction: `p2p:<a> <b>` with the ids in
 * order. Client ids cannot contain spaces (shared/validate.ts), so a space is a safe separator,
 * and topic names cannot contain ":", so a p2p id never collides with a topic name.
 */
export function p2pConversation(a: string, b: string): string {
  return a < b ? `p2p:${a} ${b}` : `p2p:${b} ${a}`;
}
