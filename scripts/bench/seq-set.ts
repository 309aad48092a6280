/**
 * A set of positive integers stored as sorted, disjoint, non-adjacent ranges [start, end].
 *
 * Why ranges and not a bitmap or a Set: the checker keeps one of these per (recipient, sender)
 * stream and per sender. In a healthy run every stream is one range however many messages it
 * carried (O(1) memory, O(1) add at the tail), and a loss or a reorder only adds a range, so a
 * long run with a few faults stays small. A Set<number> would cost ~40 bytes per message.
 */
export class SeqSet {
  private starts: number[] = [];
  private ends: number[] = [];
  private n = 0;

  /** Number of integers in the set. */
  get size(): number {
    return this.n;
  }

  /** Number of disjoint ranges (1 for a gapless stream). */
  get rangeCount(): number {
    return this.starts.length;
  }

  /** Largest member, or 0 when empty. */
  get max(): number {
    const k = this.ends.length;
    return k === 0 ? 0 : (this.ends[k - 1] as number);
  }

  has(v: number): boolean {
    const k = this.starts.length;
    if (k === 0) return false;
    // Fast path: almost every query hits the last range.
    if (v >= (this.starts[k - 1] as number)) return v <= (this.ends[k - 1] as number);
    const i = this.rangeAtOrBefore(v);
    return i >= 0 && v <= (this.ends[i] as number);
  }

  /** Add v; returns false when it was already present. */
  add(v: number): boolean {
    const k = this.starts.length;
    if (k === 0 || v > (this.ends[k - 1] as number) + 1) {
      this.starts.push(v);
      this.ends.push(v);
      this.n++;
      return true;
    }
    if (v === (this.ends[k - 1] as number) + 1) {
      this.ends[k - 1] = v;
      this.n++;
      return true;
    }
    return this.addInside(v);
  }

  /** |this ∩ other|, by one merge pass over both range lists. */
  intersectionSize(other: SeqSet): number {
    let i = 0;
    let j = 0;
    let total = 0;
    while (i < this.starts.length && j < other.starts.length) {
      const lo = Math.max(this.starts[i] as number, other.starts[j] as number);
      const hi = Math.min(this.ends[i] as number, other.ends[j] as number);
      if (lo <= hi) total += hi - lo + 1;
      if ((this.ends[i] as number) < (other.ends[j] as number)) i++;
      else j++;
    }
    return total;
  }

  /** Up to `limit` members of this set that are not in `other`, smallest first. */
  sampleMissingFrom(other: SeqSet, limit: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.starts.length && out.length < limit; i++) {
      for (let v = this.starts[i] as number; v <= (this.ends[i] as number) && out.length < limit; v++) {
        if (!other.has(v)) out.push(v);
      }
    }
    return out;
  }

  /** The ranges, for tests and debugging. */
  ranges(): Array<[number, number]> {
    return this.starts.map((s, i) => [s, this.ends[i] as number]);
  }

  /** Index of the last range whose start is <= v, or -1. */
  private rangeAtOrBefore(v: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as number) <= v) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  private addInside(v: number): boolean {
    const i = this.rangeAtOrBefore(v);
    if (i >= 0 && v <= (this.ends[i] as number)) return false;
    const joinsLeft = i >= 0 && (this.ends[i] as number) === v - 1;
    const right = i + 1;
    const joinsRight = right < this.starts.length && (this.starts[right] as number) === v + 1;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[right] as number;
      this.starts.splice(right, 1);
      this.ends.splice(right, 1);
    } else if (joinsLeft) {
      this.ends[i] = v;
    } else if (joinsRight) {
      this.starts[right] = v;
    } else {
      this.starts.splice(right, 0, v);
      this.ends.splice(right, 0, v);
    }
    this.n++;
    return true;
  }
}
