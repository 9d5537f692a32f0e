// valuesUntilPossibleHold is a sharp bound: no future of fewer values makes DVAR hold (checked against
// adversarial futures run through the real criterion), and some future of exactly that many values does.
import { valuesUntilPossibleHold } from '../../../../functions/evaluate-stop/earliest-hold.ts';
import { findCriterionIndex } from '../../../../shared/dvar.ts';
import { mulberry32 } from '../../../support/mulberry32.ts';

/** Whether DVAR holds exactly at the last value of history + future (not earlier: callers check that). */
function holdsAtEnd(
  history: readonly number[],
  future: readonly number[],
  window: number,
  threshold: number,
) {
  return (
    findCriterionIndex([...history, ...future], { window, threshold }) === history.length + future.length - 1
  );
}

/** Futures the criterion is most easily fooled by: constants on a fine grid around the data, and noise. */
function futures(k: number, lo: number, hi: number, random: () => number): number[][] {
  const out: number[][] = [];
  const span = hi - lo;
  for (let g = 0; g <= 400; g++) out.push(Array(k).fill(lo - span + (3 * span * g) / 400));
  for (let r = 0; r < 30; r++) out.push(Array.from({ length: k }, () => lo + span * random()));
  return out;
}

// `before`: how many values before the curve's own first hold the history is cut (null: a fixed length 12).
const cases = [
  { name: 'decay, just before the hold', tau: 8, noise: 0.01, before: 2, window: 20, threshold: 0.15 },
  { name: 'decay, well before the hold', tau: 8, noise: 0.01, before: 15, window: 20, threshold: 0.15 },
  { name: 'slow decay', tau: 40, noise: 0.002, before: 10, window: 30, threshold: 0.15 },
  { name: 'noisy plateau', tau: 3, noise: 0.05, before: 6, window: 25, threshold: 0.4 },
  { name: 'window not yet full', tau: 5, noise: 0.01, before: null, window: 20, threshold: 0.15 },
];

describe.each(cases)('$name', ({ tau, noise, before, window, threshold }) => {
  const random = mulberry32(tau * 31 + window);
  const curve = Array.from({ length: 400 }, (_, i) => 0.2 + Math.exp(-i / tau) + noise * (random() - 0.5));
  const firstHold = findCriterionIndex(curve, { window, threshold }) ?? 400;
  const n = before === null ? 12 : firstHold - before;
  const history = curve.slice(0, n);
  const k = valuesUntilPossibleHold(history, { window, threshold });
  const lo = Math.min(...history);
  const hi = Math.max(...history);

  test('no shorter future makes DVAR hold', () => {
    expect(findCriterionIndex(history, { window, threshold })).toBeNull();
    for (let shorter = 1; shorter < k; shorter++) {
      for (const future of futures(shorter, lo, hi, random)) {
        const all = [...history, ...future];
        expect(findCriterionIndex(all, { window, threshold })).toBeNull();
      }
    }
  });

  test('some future of exactly k values does', () => {
    expect(k).toBeGreaterThanOrEqual(Math.max(1, window + 1 - n));
    expect(futures(k, lo, hi, random).some((f) => holdsAtEnd(history, f, window, threshold))).toBe(true);
  });
});

test('a history near the threshold allows a stop at the next value; none before the window fills', () => {
  const plateau = Array.from({ length: 60 }, (_, i) => (i < 10 ? 1 - i / 10 : 0.01 * (i % 2)));
  expect(valuesUntilPossibleHold(plateau.slice(0, 25), { window: 20, threshold: 0.15 })).toBe(1);
  expect(valuesUntilPossibleHold([1, 2, 3], { window: 20, threshold: 0.15 })).toBeGreaterThanOrEqual(18);
  expect(valuesUntilPossibleHold([], { window: 20, threshold: 0.15 })).toBe(21);
});
