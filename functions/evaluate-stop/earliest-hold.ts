// How many more deterministic losses the trainer must produce before DVAR can possibly hold, whatever those
// losses are. The monitor need not look before then, so waiting for it never delays a stop; near the
// threshold the answer is 1 and the monitor polls at the trainer's pace.
import type { DvarParams } from '../../shared/dvar.ts';

/**
 * The smallest k ≥ 1 such that some k further values x₁…x_k make DVAR hold at length L = n + k
 * (`var(last W) < α · var(all)`, population variances, docs/dvar.md).
 *
 * Why it is exact: for k ≤ W future values with mean x̄ and scatter s = Σ(xᵢ − x̄)², the window's and the
 * history's sums of squared deviations both grow by s, so f = var_W − α·var_all grows by s·(1/W − α/L), which
 * is ≥ 0 whenever α·W < L (always, for α < 1). So the minimum over all futures is reached with k equal
 * values x, and then
 *   f(x) = a·x² + b·x + c
 * is a quadratic in x; DVAR can hold at L iff min_x f(x) < 0. For k > W the older new values can be made
 * arbitrarily far off, so DVAR can always hold by then (the loop never gets past k = W for n > 0).
 * Values are centred on the last one for precision; the tolerance errs on the side of "possible", i.e. of
 * polling early.
 */
export function valuesUntilPossibleHold(history: readonly number[], params: DvarParams): number {
  const { window: W, threshold: alpha } = params;
  const n = history.length;
  if (n === 0) return W + 1;
  const centre = history[n - 1]!;
  // Suffix sums of centred values and their squares: sufS[i] = Σ_{j ≥ i} y_j.
  const sufS = new Float64Array(n + 1);
  const sufQ = new Float64Array(n + 1);
  for (let i = n - 1; i >= 0; i--) {
    const y = history[i]! - centre;
    sufS[i] = sufS[i + 1]! + y;
    sufQ[i] = sufQ[i + 1]! + y * y;
  }
  const sA = sufS[0]!;
  const qA = sufQ[0]!;
  for (let k = Math.max(1, W - n); k <= W + 1; k++) {
    const total = n + k;
    // Existing values still in the window, and how many of the k new ones are in it.
    const kept = Math.max(0, W - k);
    const fresh = W - kept;
    const sE = sufS[n - kept]!;
    const qE = sufQ[n - kept]!;
    const a = (fresh / W) * (1 - fresh / W) - alpha * (k / total) * (1 - k / total);
    const b = (-2 * sE * fresh) / (W * W) + (2 * alpha * sA * k) / (total * total);
    const c = qE / W - (sE * sE) / (W * W) - alpha * (qA / total - (sA * sA) / (total * total));
    if (alpha * W >= total) return k;
    const scale = Math.max(qE / W, qA / total, Number.MIN_VALUE);
    const tolerance = 1e-12 * scale;
    let minimum: number;
    if (a > 1e-12) minimum = c - (b * b) / (4 * a);
    else if (a < -1e-12 || Math.abs(b) > 1e-12 * Math.sqrt(scale)) minimum = Number.NEGATIVE_INFINITY;
    else minimum = c;
    if (minimum < tolerance) return k;
  }
  return W + 1;
}
