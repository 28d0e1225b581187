/** The adaptive player's rate choice: the floor first, then what the measured link carries, within the page's bounds. */
import { describe, expect, it } from 'vitest';
import { AdaptiveRate, RATE_SAFETY } from '../../src/client/adaptive-rate';

/** A transfer of `bytes` over a link of `kbps`: the milliseconds it takes. */
const over = (kbps: number, bytes: number) => (bytes * 8) / kbps;

describe('AdaptiveRate', () => {
  it('asks the floor before anything is measured and while starving, then a share of the link within the bounds', () => {
    const rate = new AdaptiveRate({ floorKbps: 2, ceilingKbps: 40 });
    expect(rate.choose()).toBe(2);
    for (let i = 0; i < 5; i++) rate.observe(2000, over(16, 2000));
    expect(rate.choose()).toBeCloseTo(RATE_SAFETY * 16, 5);
    expect(rate.choose(true)).toBe(2);
    for (let i = 0; i < 5; i++) rate.observe(20_000, over(1000, 20_000));
    expect(rate.choose()).toBe(40);
    for (let i = 0; i < 10; i++) rate.observe(200, over(1, 200));
    expect(rate.choose()).toBe(2);
  });

  it('falls at once when the link narrows, and rises again without overshooting when it widens', () => {
    const rate = new AdaptiveRate({ floorKbps: 1, ceilingKbps: 1000 });
    for (let i = 0; i < 6; i++) rate.observe(4000, over(64, 4000));
    rate.observe(4000, over(8, 4000));
    // one slow transfer: the estimate is already near the narrow link, not halfway
    expect(rate.estimateKbps as number).toBeLessThan(30);
    const low = rate.choose();
    rate.observe(4000, over(64, 4000));
    // one fast transfer after it: the estimate rises, short of the link
    expect(rate.choose()).toBeGreaterThan(low);
    expect(rate.estimateKbps as number).toBeLessThan(64);
  });

  it('refuses a floor that is not positive, and lifts a ceiling below the floor to it', () => {
    expect(() => new AdaptiveRate({ floorKbps: 0 })).toThrow(RangeError);
    expect(new AdaptiveRate({ floorKbps: 4, ceilingKbps: 2 }).ceilingKbps).toBe(4);
  });
});
