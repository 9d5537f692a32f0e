// DVAR against a naive two-pass reference: seeded random histories, a decaying-then-flat loss, constant
// and non-finite losses, the strict threshold and the earliest possible stop (after W+1 values); the window in
// steps whatever the evaluation cadence.
import {
  DVAR_DEFAULTS,
  DvarTracker,
  dvarParamsOf,
  dvarRatio,
  findCriterionIndex,
  NonFiniteLossError,
  windowInSamples,
} from '../../../shared/dvar.ts';
import { METHOD_DEFAULTS, METHODS } from '../../../shared/methods.ts';
import { mulberry32 as rng } from '../../support/mulberry32.ts';

function populationVariance(values: readonly number[]): number {
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return values.reduce((s, v) => s + (v - mean) * (v - mean), 0) / values.length;
}

/** The definition, literally: for a prefix of length n ≥ W, var(last W) / var(all). */
function naiveRatio(prefix: readonly number[], window: number): number | undefined {
  if (prefix.length < window) return undefined;
  const total = populationVariance(prefix);
  if (total <= 0) return undefined;
  return populationVariance(prefix.slice(-window)) / total;
}

function closeRel(a: number, b: number, tol: number): boolean {
  return Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

function noisyHistory(seed: number, n: number): number[] {
  const r = rng(seed);
  // A loss that decays, then wanders around a floor: exercises both holding and non-holding ratios.
  return Array.from({ length: n }, (_, i) => 0.2 + 0.5 * Math.exp(-i / (40 + seed)) + 0.05 * (r() - 0.5));
}

describe('DVAR_DEFAULTS', () => {
  it("carries each method's settings from the one table, budgets the paper's", () => {
    for (const m of METHODS) {
      const d = METHOD_DEFAULTS[m];
      expect(DVAR_DEFAULTS[m]).toEqual({ window: d.window, threshold: d.threshold, maxSteps: d.maxSteps });
    }
    expect(METHODS.map((m) => DVAR_DEFAULTS[m].maxSteps)).toEqual([6100, 1000, 500]);
  });
});

describe('DvarTracker', () => {
  it('matches the naive two-pass ratio at every step on seeded random histories', () => {
    for (const [seed, window] of [
      [1, 2],
      [2, 3],
      [3, 7],
      [4, 50],
      [5, 97],
    ] as const) {
      const history = noisyHistory(seed, 600);
      const tracker = new DvarTracker({ window, threshold: 0.15 });
      for (let i = 0; i < history.length; i++) {
        const step = tracker.push(history[i]!);
        const expected = naiveRatio(history.slice(0, i + 1), window);
        if (expected === undefined) {
          expect(step.ratio).toBeUndefined();
          expect(step.holds).toBe(false);
        } else {
          expect(step.ratio).toBeDefined();
          if (!closeRel(step.ratio!, expected, 1e-9)) {
            throw new Error(`seed ${seed} W ${window} i ${i}: ${step.ratio} vs naive ${expected}`);
          }
          if (Math.abs(expected - 0.15) > 1e-9) expect(step.holds).toBe(expected < 0.15);
        }
        expect(tracker.count).toBe(i + 1);
        expect(tracker.ratio).toBe(step.ratio);
      }
    }
  });

  it('gives exactly 1 when the history is exactly one window long', () => {
    const tracker = new DvarTracker({ window: 5, threshold: 0.15 });
    for (const v of [3, 1, 4, 1, 5]) tracker.push(v);
    expect(tracker.ratio).toBe(1);
    expect(tracker.holds).toBe(false);
  });

  it('holds at the earliest after W+1 values', () => {
    // Window W = 3: [10, 0, 0] has ratio 1; adding 0 makes the window flat (ratio 0) while the whole varies.
    expect(findCriterionIndex([10, 0, 0, 0], { window: 3, threshold: 0.15 })).toBe(3);
    expect(findCriterionIndex([10, 0, 0], { window: 3, threshold: 0.15 })).toBeNull();
  });

  it('compares strictly with the threshold', () => {
    // W = 2 on [0, 2, 0, 2]: ratios 1, 9/8, 1 — exactly representable.
    expect(findCriterionIndex([0, 2, 0, 2], { window: 2, threshold: 1 })).toBeNull();
    expect(findCriterionIndex([0, 2, 0, 2], { window: 2, threshold: 1.0000001 })).toBe(1);
  });

  it('does not hold on a constant history (zero total variance), and recovers once a value differs', () => {
    const tracker = new DvarTracker({ window: 4, threshold: 0.15 });
    for (let i = 0; i < 50; i++) {
      const step = tracker.push(0.125);
      expect(step.ratio).toBeUndefined();
      expect(step.holds).toBe(false);
    }
    const step = tracker.push(0.5);
    expect(step.ratio).toBeCloseTo(naiveRatio([...Array(50).fill(0.125), 0.5], 4)!, 12);
    expect(findCriterionIndex(Array(500).fill(1), { window: 10, threshold: 0.15 })).toBeNull();
  });

  it('throws a clear error naming the sample index for NaN and infinite losses', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const tracker = new DvarTracker({ window: 3, threshold: 0.15 });
      tracker.push(1);
      tracker.push(2);
      expect(() => tracker.push(bad)).toThrow(NonFiniteLossError);
      expect(() => findCriterionIndex([1, 2, 3, bad], { window: 2, threshold: 1e-9 })).toThrow(
        /sample index 3 is (NaN|Infinity|-Infinity)/,
      );
    }
  });

  it('stays accurate over a long history with a large offset (no drift in the sliding window)', () => {
    const r = rng(42);
    const history = Array.from({ length: 100_000 }, (_, i) => 1e6 + Math.exp(-i / 3000) + 1e-3 * r());
    const window = 310;
    const tracker = new DvarTracker({ window, threshold: 0.15 });
    for (const v of history) tracker.push(v);
    const expected = naiveRatio(history, window)!;
    expect(closeRel(tracker.ratio!, expected, 1e-6)).toBe(true);
    expect(closeRel(dvarRatio(history, window)!, expected, 1e-6)).toBe(true);
  });

  it('rejects meaningless parameters', () => {
    expect(() => new DvarTracker({ window: 1, threshold: 0.15 })).toThrow(/window must be an integer >= 2/);
    expect(() => new DvarTracker({ window: 2.5, threshold: 0.15 })).toThrow(/window/);
    expect(() => new DvarTracker({ window: 10, threshold: 0 })).toThrow(/threshold must be/);
    expect(() => new DvarTracker({ window: 10, threshold: Number.NaN })).toThrow(/threshold must be/);
  });
});

describe('findCriterionIndex and dvarRatio', () => {
  it('agree with the incremental tracker (incremental == batch)', () => {
    for (let seed = 10; seed < 30; seed++) {
      const history = noisyHistory(seed, 400);
      const params = { window: 20 + seed, threshold: 0.05 + seed / 100 };
      const tracker = new DvarTracker(params);
      let first: number | null = null;
      history.forEach((v, i) => {
        if (tracker.push(v).holds && first === null) first = i;
      });
      expect(findCriterionIndex(history, params)).toBe(first);
      expect(dvarRatio(history, params.window)).toBe(tracker.ratio);
    }
  });

  it('finds the plateau of a decaying-then-flat loss where the naive definition first holds', () => {
    const r = rng(7);
    const history = Array.from({ length: 2000 }, (_, i) => 0.1 + Math.exp(-i / 60) + 1e-3 * r());
    const params = { window: 100, threshold: 0.15 };
    const index = findCriterionIndex(history, params);
    expect(index).not.toBeNull();
    let naiveFirst: number | null = null;
    for (let i = 0; i < history.length && naiveFirst === null; i++) {
      const ratio = naiveRatio(history.slice(0, i + 1), params.window);
      if (ratio !== undefined && ratio < params.threshold) naiveFirst = i;
    }
    expect(index).toBe(naiveFirst);
    // It holds once the window sits on the flat tail: well after one window, long before the 2000-step cap.
    expect(index!).toBeGreaterThan(params.window);
    expect(index!).toBeLessThan(600);
    expect(history[index!]! - 0.1).toBeLessThan(0.1 * (history[0]! - 0.1));
  });

  it('returns null for a history shorter than the window and undefined ratio', () => {
    expect(findCriterionIndex([1, 2, 3], { window: 310, threshold: 0.15 })).toBeNull();
    expect(dvarRatio([1, 2, 3], 310)).toBeUndefined();
    expect(dvarRatio([], 2)).toBeUndefined();
  });
});

describe('the window is in steps whatever evalEvery is', () => {
  it('holds round(W / evalEvery) values, at least 2', () => {
    expect(windowInSamples(310, 1)).toBe(310);
    expect(windowInSamples(310, 8)).toBe(39);
    expect(windowInSamples(20, 16)).toBe(2);
    expect(() => windowInSamples(10, 0)).toThrow(RangeError);
    expect(dvarParamsOf({ window: 440, threshold: 0.4, evalEvery: 4 })).toEqual({
      window: 110,
      threshold: 0.4,
    });
  });
});
