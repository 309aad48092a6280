import { createHash } from "node:crypto";

/** The claims of a token that verified, as kept by the cache. Unix seconds. */
export interface CachedClaims {
  sub: string;
  exp: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  kid: string;
}

/**
 * Tokens whose signature, issuer and audience checked out, by the SHA-256 of the whole token (a
 * key made of less, such as the signature alone, would let a tampered payload ride on a cached
 * signature). Least recently used entries go first, so memory stays at `max` entries; the time
 * claims are re-checked by the caller on every hit. Only successes enter, so failed attempts
 * cannot evict anything.
 */
export class VerifiedCache {
  private readonly entries = new Map<string, CachedClaims>();

  constructor(private readonly max: number) {}

  static keyOf(token: string): string {
    return createHash("sha256").update(token).digest("base64url");
  }

  get(key: string): CachedClaims | undefined {
    const hit = this.entries.get(key);
    if (hit) {
      // Re-insert: Map keeps insertion order, so the first key is always the least recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: string, claims: CachedClaims): void {
    if (this.max === 0) return;
    this.entries.delete(key);
    this.entries.set(key, claims);
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
