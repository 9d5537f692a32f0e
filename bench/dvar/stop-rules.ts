// The stopping rules the benchmark compares, replayed over one recorded fixed-budget run. DVAR: the recorded
// deterministic losses (one per step) subsampled every k steps go through findCriterionIndex — the same code
// the trainer and the monitor run — so the stop step is exactly the in-process one. Sample-based (the paper's
// CLIP-s analogue): a quality score every `every` steps, stop after `patience` checks without improvement.
import { type DvarParams, findCriterionIndex, windowInSamples } from '../../shared/dvar.ts';

export interface DvarReplay {
  /** The step at which the criterion first held (it is trained too), or null if never within the record. */
  readonly criterionStep: number | null;
  /** Steps trained: criterionStep + 1, or the cap. */
  readonly steps: number;
  /** Deterministic evaluations made up to and including the stop. */
  readonly evaluations: number;
}

/**
 * DVAR with evaluation every `evalEvery` steps over `losses[s]` = the deterministic loss before step s's update.
 * The window is given in steps (as the issue measures it): W/k samples, at least 2. The training trajectory does
 * not depend on evalEvery (the evaluation batch has its own random stream), so subsampling one run is exact.
 */
export function replayDvar(
  losses: readonly number[],
  params: DvarParams,
  evalEvery: number,
  cap: number,
): DvarReplay {
  if (!Number.isInteger(evalEvery) || evalEvery < 1)
    throw new RangeError(`evalEvery must be ≥ 1, got ${evalEvery}`);
  const sampled: number[] = [];
  for (let s = 0; s < Math.min(cap, losses.length); s += evalEvery) sampled.push(losses[s]!);
  const window = windowInSamples(params.window, evalEvery);
  const index = findCriterionIndex(sampled, { window, threshold: params.threshold });
  if (index === null) return { criterionStep: null, steps: cap, evaluations: Math.ceil(cap / evalEvery) };
  const step = index * evalEvery;
  return { criterionStep: step, steps: step + 1, evaluations: index + 1 };
}

export { windowInSamples } from '../../shared/dvar.ts';

export interface PatienceStop {
  /** Index into the scores at which the rule stopped (the last check made), or null: it ran to the cap. */
  readonly stopIndex: number | null;
  /** Index of the best score seen up to the stop. */
  readonly bestIndex: number;
}

/**
 * Early stopping on a score that should rise: stop at the first check where `patience` consecutive checks have
 * not beaten the best so far by more than `minDelta`. Checks are made in order; nothing after the stop is read.
 */
export function patienceStop(scores: readonly number[], patience: number, minDelta = 0): PatienceStop {
  if (!Number.isInteger(patience) || patience < 1)
    throw new RangeError(`patience must be ≥ 1, got ${patience}`);
  if (scores.length === 0) throw new RangeError('patienceStop needs at least one score');
  let best = scores[0]!;
  let bestIndex = 0;
  for (let i = 1; i < scores.length; i++) {
    const score = scores[i]!;
    if (score > best + minDelta) {
      best = score;
      bestIndex = i;
    } else if (i - bestIndex >= patience) {
      return { stopIndex: i, bestIndex };
    }
  }
  return { stopIndex: null, bestIndex };
}
