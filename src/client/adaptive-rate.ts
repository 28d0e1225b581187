/**
 * Choosing each segment's rate from what the network delivers (one encode, every rate: `maxKbps` cuts keyframes, then
 * the sound, at the edge). The player measures each segment's transfer — its bytes over the time from the response's
 * headers to its last byte, so a live read that waited for its segment to be coded does not count the wait — and asks
 * the next segment at the rate that fits, within a floor and a ceiling the page sets.
 */

export interface RateBounds {
  /** The lowest rate asked, kbps (a stream cut below its texts-only floor gives its texts only). Default 1. */
  floorKbps?: number;
  /** The highest rate asked, kbps. Default 1000 (the largest maxKbps). */
  ceilingKbps?: number;
}

/** What the chooser did for one segment, for pages that show it. */
export interface RateChoice {
  /** The segment. */
  n: number;
  /** The maxKbps it was asked at. */
  maxKbps: number;
  /** The throughput estimate the choice came from, kbps (null before anything was measured). */
  estimateKbps: number | null;
}

/** Fraction of the estimated throughput a segment may use: the rest absorbs the link's variation and each request's own bytes. */
export const RATE_SAFETY = 0.7;
/** Weight of the newest measurement in the estimate (an exponentially weighted average). */
const NEWEST_WEIGHT = 0.5;
/** Transfers shorter than this say little about a link (they are mostly the response's own latency): measured as this long. */
const MIN_TRANSFER_MS = 20;
export const DEFAULT_FLOOR_KBPS = 1;
export const DEFAULT_CEILING_KBPS = 1000;

export class AdaptiveRate {
  readonly floorKbps: number;
  readonly ceilingKbps: number;
  private estimate: number | null = null;

  constructor(bounds: RateBounds = {}) {
    this.floorKbps = bounds.floorKbps ?? DEFAULT_FLOOR_KBPS;
    this.ceilingKbps = Math.max(this.floorKbps, bounds.ceilingKbps ?? DEFAULT_CEILING_KBPS);
    if (!(this.floorKbps > 0)) throw new RangeError(`floorKbps must be positive, got ${this.floorKbps}`);
  }

  /** The throughput estimate in kbps, null before the first measurement. */
  get estimateKbps(): number | null {
    return this.estimate;
  }

  /** Records a transfer of `bytes` that took `ms` milliseconds from the response's headers to its end. */
  observe(bytes: number, ms: number): void {
    if (bytes <= 0) return;
    const kbps = (bytes * 8) / Math.max(ms, MIN_TRANSFER_MS);
    this.estimate = this.estimate === null ? kbps : NEWEST_WEIGHT * kbps + (1 - NEWEST_WEIGHT) * this.estimate;
  }

  /**
   * The rate to ask the next segment at: RATE_SAFETY of the estimate, within the floor and the ceiling; the floor
   * before anything is known (the first segment must never stall), and the floor again while the player waits on
   * the network (`starving`: nothing is buffered ahead).
   */
  choose(starving = false): number {
    if (this.estimate === null || starving) return this.floorKbps;
    return Math.min(this.ceilingKbps, Math.max(this.floorKbps, RATE_SAFETY * this.estimate));
  }
}
