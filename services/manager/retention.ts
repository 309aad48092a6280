import type { Logger } from "../../shared/log/logger.js";
import type { PruneCursor } from "../../shared/store/retention.js";
import type { Store } from "../../shared/store/store.js";
import type { ManagerConfig } from "./config.js";

const DAY_MS = 86_400_000;

/**
 * Runs the store's retention in slices: sliceMessages every sliceEveryMs until a pass has
 * covered the store's messages, then its attachments (by age only, maxAgeDays plus
 * attachmentGraceMs), then waits passEveryMs. Several managers may run it: both prunes are
 * idempotent.
 */
export class RetentionJob {
  readonly counters = { retentionDeleted: 0, retentionExpiredInbox: 0, retentionAttachmentsDeleted: 0, retentionPasses: 0 };
  private timer: NodeJS.Timeout | null = null;
  private after: PruneCursor | undefined;
  /** Messages done for this pass: now the attachments, from this cursor ("" = their start). */
  private attachmentsAfter: string | undefined;
  private running = false;

  constructor(
    private readonly cfg: ManagerConfig["retention"],
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  get enabled(): boolean {
    return this.cfg.maxAgeDays > 0 || this.cfg.maxPerConversation > 0;
  }

  start(): void {
    if (this.enabled) this.schedule(this.cfg.sliceEveryMs);
  }

  private stopped = false;

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => void this.slice(), ms);
    this.timer.unref();
  }

  /** One slice; exported for tests. */
  async slice(now = Date.now()): Promise<void> {
    if (this.running) return;
    this.running = true;
    let wait = this.cfg.sliceEveryMs;
    try {
      const passDone = this.attachmentsAfter === undefined ? await this.messageSlice(now) : await this.attachmentSlice(now);
      if (passDone) {
        this.counters.retentionPasses++;
        wait = this.cfg.passEveryMs;
      }
    } catch (err) {
      this.log.warn({ err }, "retention slice failed; retrying later");
    } finally {
      this.running = false;
      if (!this.stopped && this.enabled) this.schedule(wait);
    }
  }

  /** True when the whole pass is over: the messages are done and attachments have no age limit to apply. */
  private async messageSlice(now: number): Promise<boolean> {
    const r = await this.store.prune(
      { maxAgeMs: this.cfg.maxAgeDays * DAY_MS, maxPerConversation: this.cfg.maxPerConversation },
      { now, budget: this.cfg.sliceMessages, after: this.after },
    );
    this.counters.retentionDeleted += r.deleted;
    this.counters.retentionExpiredInbox += r.expiredInbox;
    if (r.deleted > 0) this.log.info({ deleted: r.deleted, expiredInbox: r.expiredInbox }, "retention: messages deleted");
    this.after = r.next;
    if (r.next || this.cfg.maxAgeDays <= 0) return !r.next;
    this.attachmentsAfter = "";
    return false;
  }

  private async attachmentSlice(now: number): Promise<boolean> {
    const cutoff = now - this.cfg.maxAgeDays * DAY_MS - this.cfg.attachmentGraceMs;
    const r = await this.store.pruneAttachments(cutoff, { budget: this.cfg.sliceMessages, after: this.attachmentsAfter || undefined });
    this.counters.retentionAttachmentsDeleted += r.deleted;
    if (r.deleted > 0) this.log.info({ deleted: r.deleted }, "retention: attachments deleted");
    this.attachmentsAfter = r.next;
    return r.next === undefined;
  }
}
