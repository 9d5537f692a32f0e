// Tuning DVAR on the tuning concepts: curve interpolation and the choice of the fastest setting that keeps the
// required share of quality.
import { curveAt, tuneDvar } from '../../../../bench/dvar/tune.ts';

describe('curveAt', () => {
  const curve = [
    { step: 0, identity: 0.5 },
    { step: 100, identity: 0.7 },
    { step: 200, identity: 0.8 },
  ];
  it('interpolates linearly between checks and clamps at the ends', () => {
    expect(curveAt(curve, 50)).toBeCloseTo(0.6, 12);
    expect(curveAt(curve, 150)).toBeCloseTo(0.75, 12);
    expect(curveAt(curve, -5)).toBe(0.5);
    expect(curveAt(curve, 500)).toBe(0.8);
    expect(() => curveAt([], 1)).toThrow(/empty/);
  });
});

describe('tuneDvar', () => {
  // Loss falls until step ~300 and is flat after; identity rises until step 300 and is flat after.
  const cap = 1000;
  const losses = Array.from({ length: cap }, (_, s) => (s < 300 ? 2 - s / 300 : 1) + 0.002 * Math.sin(s));
  const curve = Array.from({ length: 11 }, (_, i) => ({
    step: i * 100,
    identity: Math.min(0.9, 0.6 + i * 0.1),
  }));

  it('takes the setting with the fewest median steps among those that keep the quality', () => {
    const { chosen, grid } = tuneDvar([{ losses, curve, cap }], [20, 100], [0.05, 0.5], 0.97);
    expect(grid).toHaveLength(4);
    for (const g of grid) expect(g.feasible).toBe(g.minRatio >= 0.97);
    const feasible = grid.filter((g) => g.feasible);
    expect(feasible.length).toBeGreaterThan(0);
    const fastest = Math.min(...feasible.map((g) => g.medianSteps));
    const pick = grid.find((g) => g.window === chosen.window && g.threshold === chosen.threshold);
    expect(pick?.feasible).toBe(true);
    expect(pick?.medianSteps).toBe(fastest);
    // A loose threshold with a short window stops in the descent, where identity is still rising: infeasible.
    expect(grid.find((g) => g.window === 20 && g.threshold === 0.5)?.feasible).toBe(false);
  });

  it('falls back to the best-quality point when none keeps the required share', () => {
    const { chosen, grid } = tuneDvar([{ losses, curve, cap }], [20], [0.5, 0.9], 1.5);
    expect(grid.every((g) => !g.feasible)).toBe(true);
    const best = Math.max(...grid.map((g) => g.minRatio));
    expect(grid.find((g) => g.threshold === chosen.threshold)?.minRatio).toBe(best);
    expect(() => tuneDvar([], [20], [0.1], 0.9)).toThrow(/at least one/);
  });
});
