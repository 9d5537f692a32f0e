// Quantiles, median and IQR of the benchmark summaries (numpy's linear interpolation).
import { mean, median, quantile, spread } from '../../../../bench/dvar/stats.ts';

describe('stats', () => {
  it('interpolates quantiles between order statistics like numpy', () => {
    const values = [7, 1, 3, 5];
    expect(quantile(values, 0)).toBe(1);
    expect(quantile(values, 1)).toBe(7);
    expect(quantile(values, 0.25)).toBeCloseTo(2.5, 12);
    expect(quantile(values, 0.75)).toBeCloseTo(5.5, 12);
    expect(median(values)).toBe(4);
    expect(median([3, 1, 2])).toBe(2);
  });

  it('gives median, quartiles and IQR together', () => {
    expect(spread([1, 2, 3, 4, 5])).toEqual({ median: 3, q1: 2, q3: 4, iqr: 2, n: 5 });
    expect(spread([9])).toEqual({ median: 9, q1: 9, q3: 9, iqr: 0, n: 1 });
    expect(mean([1, 2, 6])).toBe(3);
  });

  it('refuses empty lists, NaN and q outside [0, 1]', () => {
    expect(() => median([])).toThrow(/empty/);
    expect(() => median([1, Number.NaN])).toThrow(/NaN/);
    expect(() => quantile([1], 1.5)).toThrow(/\[0, 1\]/);
  });
});
