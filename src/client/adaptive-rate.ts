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
/**
 * Weights of the newest measurement in two exponentially weighted averages: the estimate is the lower of the two, so
 * it falls at once when the link narrows and rises only as fast as the slow one trusts it.
 */
const FAST_WEIGHT = 0.7;
const SLOW_WEIGHT = 0.25;
/** Transfers shorter than this say little about a link (they are mostly the response's own latency): measured as this long. */
const MIN_TRANSFER_MS = 20;
export const DEFAULT_FLOOR_KBPS = 1;
export const DEFAULT_CEILING_KBPS = 1000;

export class AdaptiveRate {
  readonly floorKbps: number;
  readonly ceilingKbps: number;
  private fast: number | null = null;
  private slow: number | null = null;

  constructor(bounds: RateBounds = {}) {
    this.floorKbps = bounds.floorKbps ?? DEFAULT_FLOOR_KBPS;
    this.ceilingKbps = Math.max(this.floorKbps, bounds.ceilingKbps ?? DEFAULT_CEILING_KBPS);
    if (!(this.floorKbps > 0)) throw new RangeError(`floorKbps must be positive, got ${this.floorKbps}`);
  }

  /** The throughput estimate in kbps, null before the first measurement. */
  get estimateKbps(): number | null {
    return this.fast === null || this.slow === null ? null : Math.min(this.fast, this.slow);
  }

  /** Records a transfer of `bytes` that took `ms` milliseconds from the response's headers to its end. */
  observe(bytes: number, ms: number): void {
    if (bytes <= 0) return;
    const kbps = (bytes * 8) / Math.max(ms, MIN_TRANSFER_MS);
    this.fast = this.fast === null ? kbps : FAST_WEIGHT * kbps + (1 - FAST_WEIGHT) * this.fast;
    this.slow = this.slow === null ? kbps : SLOW_WEIGHT * kbps + (1 - SLOW_WEIGHT) * this.slow;
  }

  /**
   * The rate to ask the next segment at: RATE_SAFETY of the estimate, within the floor and the ceiling; the floor
   * before anything is known (the first segment must never stall), and the floor again while the player waits on
   * the network (`starving`: nothing is buffered ahead).
   */
  choose(starving = false): number {
    const estimate = this.estimateKbps;
    if (estimate === null || starving) return this.floorKbps;
    return Math.min(this.ceilingKbps, Math.max(this.floorKbps, RATE_SAFETY * estimate));
  }
}
