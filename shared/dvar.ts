// DVAR early-stopping criterion (Voronov et al., NeurIPS 2023; docs/dvar.md): stop when the variance of the
// last W deterministic losses is small relative to the variance of the whole history. Pure, O(1) per sample;
// used by the monitor Lambda (findCriterionIndex over stored samples) and by `plateau train` (DvarTracker).

import { METHOD_DEFAULTS, METHODS, type MethodName } from './methods.ts';

/** Training methods with the official code's DVAR settings and step caps. */
export type DvarMethod = MethodName;

export interface DvarParams {
  /** W: how many of the most recent values form the window. */
  readonly window: number;
  /** α: the criterion holds when var(window) / var(all) < α (strict). */
  readonly threshold: number;
}

export interface DvarDefaults extends DvarParams {
  /** The fixed budget the paper compares against (and our hard cap). */
  readonly maxSteps: number;
}

/** Each method's DVAR window, threshold and cap, read from the one table of method defaults (methods.ts). */
export const DVAR_DEFAULTS: Readonly<Record<DvarMethod, DvarDefaults>> = Object.fromEntries(
  METHODS.map((m) => {
    const d = METHOD_DEFAULTS[m];
    return [m, { window: d.window, threshold: d.threshold, maxSteps: d.maxSteps }];
  }),
) as Record<DvarMethod, DvarDefaults>;

/**
 * A job's window is given in steps (the paper's W); with an evaluation every `evalEvery` steps it holds
 * round(W / evalEvery) values, never fewer than 2. With evalEvery 1 this is W itself.
 */
export function windowInSamples(windowSteps: number, evalEvery: number): number {
  if (!Number.isInteger(evalEvery) || evalEvery < 1)
    throw new RangeError(`evalEvery must be ≥ 1, got ${evalEvery}`);
  return Math.max(2, Math.round(windowSteps / evalEvery));
}

/** The criterion's parameters over the stored values for a job's stop settings (window in steps). */
export function dvarParamsOf(stop: {
  readonly window: number;
  readonly threshold: number;
  readonly evalEvery: number;
}): DvarParams {
  return { window: windowInSamples(stop.window, stop.evalEvery), threshold: stop.threshold };
}

/** A NaN or ±Infinity loss: training diverged or the evaluation is broken. Never a reason to stop quietly. */
export class NonFiniteLossError extends Error {
  override readonly name = 'NonFiniteLossError';
  readonly index: number;
  readonly value: number;
  constructor(index: number, value: number) {
    super(
      `DVAR: deterministic loss at sample index ${index} is ${value}; a non-finite loss means training ` +
        'diverged or the evaluation is broken, so the criterion cannot be evaluated',
    );
    this.index = index;
    this.value = value;
  }
}

export interface DvarStep {
  /** var(last W) / var(all); undefined before W values, or while the whole history has zero variance. */
  readonly ratio: number | undefined;
  /** ratio < threshold. */
  readonly holds: boolean;
}

/** Throws a clear error for parameters that make the criterion meaningless. */
export function validateDvarParams(params: DvarParams): void {
  const { window, threshold } = params;
  if (!Number.isInteger(window) || window < 2) {
    throw new RangeError(`DVAR window must be an integer >= 2 (got ${window})`);
  }
  if (!Number.isFinite(threshold) || threshold <= 0) {
    throw new RangeError(`DVAR threshold must be a finite number > 0 (got ${threshold})`);
  }
}

/**
 * Incremental DVAR. The whole history's mean and M2 (sum of squared deviations) use Welford's update, which
 * stays accurate for any length. The window is a ring buffer with its own sliding mean and M2: replacing
 * the oldest value x_o by x_n moves the mean by (x_n − x_o)/W and M2 by (x_n − x_o)(x_n − μ' + x_o − μ).
 * Sliding updates accumulate rounding, so every W slides the window's M2 is recomputed exactly by two passes
 * over the buffer: O(W) once per W pushes, O(1) amortized, drift bounded to W updates.
 *
 * Zero variance of the whole history (every loss so far identical, e.g. a frozen or broken graph) gives an
 * undefined ratio that does NOT hold: a loss flat since step 0 says nothing was learned, and stopping on it
 * would hide the fault. Once any value differs, the ratio is defined again.
 */
export class DvarTracker {
  readonly window: number;
  readonly threshold: number;
  #count = 0;
  #mean = 0;
  #m2 = 0;
  readonly #ring: Float64Array;
  /** Next ring slot to overwrite (the oldest value once the window is full). */
  #head = 0;
  #windowMean = 0;
  #windowM2 = 0;
  #slidesSinceExact = 0;
  #last: DvarStep = { ratio: undefined, holds: false };

  constructor(params: DvarParams) {
    validateDvarParams(params);
    this.window = params.window;
    this.threshold = params.threshold;
    this.#ring = new Float64Array(params.window);
  }

  /** Number of values pushed so far. */
  get count(): number {
    return this.#count;
  }

  /** The ratio after the last push (undefined before W values or at zero total variance). */
  get ratio(): number | undefined {
    return this.#last.ratio;
  }

  /** Whether the criterion held after the last push. */
  get holds(): boolean {
    return this.#last.holds;
  }

  push(loss: number): DvarStep {
    if (!Number.isFinite(loss)) throw new NonFiniteLossError(this.#count, loss);
    const n = this.#count + 1;
    const delta = loss - this.#mean;
    this.#mean += delta / n;
    this.#m2 += delta * (loss - this.#mean);
    this.#count = n;

    const w = this.window;
    if (n <= w) {
      // Filling the window: the same Welford update, so at n = W the two variances are bit-identical (ratio 1).
      this.#ring[n - 1] = loss;
      this.#windowMean = this.#mean;
      this.#windowM2 = this.#m2;
      this.#head = n % w;
    } else {
      const old = this.#ring[this.#head]!;
      this.#ring[this.#head] = loss;
      this.#head = (this.#head + 1) % w;
      if (++this.#slidesSinceExact >= w) {
        this.#recomputeWindow();
      } else {
        const oldMean = this.#windowMean;
        this.#windowMean += (loss - old) / w;
        this.#windowM2 += (loss - old) * (loss - this.#windowMean + old - oldMean);
      }
    }
    this.#last = this.#evaluate();
    return this.#last;
  }

  #recomputeWindow(): void {
    const w = this.window;
    let sum = 0;
    for (let i = 0; i < w; i++) sum += this.#ring[i]!;
    const mean = sum / w;
    let m2 = 0;
    for (let i = 0; i < w; i++) {
      const d = this.#ring[i]! - mean;
      m2 += d * d;
    }
    this.#windowMean = mean;
    this.#windowM2 = m2;
    this.#slidesSinceExact = 0;
  }

  #evaluate(): DvarStep {
    const n = this.#count;
    if (n < this.window || this.#m2 <= 0) return { ratio: undefined, holds: false };
    // Sliding rounding can leave a tiny negative M2 for a flat window; variance is never negative.
    const windowVar = Math.max(this.#windowM2, 0) / this.window;
    const ratio = windowVar / (this.#m2 / n);
    return { ratio, holds: ratio < this.threshold };
  }
}

/**
 * The 0-based index of the first value after which the criterion holds (so it held once history[0..i] was
 * known), or null if it never holds. With evalEvery > 1 the caller maps the index to its sample's step.
 */
export function findCriterionIndex(history: readonly number[], params: DvarParams): number | null {
  const tracker = new DvarTracker(params);
  for (let i = 0; i < history.length; i++) {
    if (tracker.push(history[i]!).holds) return i;
  }
  return null;
}

/** The ratio after the whole history (undefined before W values or at zero total variance). */
export function dvarRatio(history: readonly number[], window: number): number | undefined {
  // The threshold does not affect the ratio; any valid one will do.
  const tracker = new DvarTracker({ window, threshold: 1 });
  for (const loss of history) tracker.push(loss);
  return tracker.ratio;
}
