// AdamW with decoupled weight decay, step for step as torch.optim.AdamW (single-tensor path): decay the
// parameters by (1 − lr·wd), update the moments, then p −= lr/(1−β1^t) · m / (sqrt(v)/sqrt(1−β2^t) + ε).
// Parameters and moments are float32 like the torch tensors, so a checkpoint of them is exact.

export interface AdamWConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

/** The paper's TI settings except the learning rate. */
export const ADAMW_DEFAULTS = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 } as const;

export interface AdamWState {
  /** Optimizer steps taken so far (torch's `step`). */
  step: number;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

export function initAdamW(size: number): AdamWState {
  return { step: 0, m: new Float32Array(size), v: new Float32Array(size) };
}

/** A range of the parameters [start, end) trained at its own learning rate (a parameter group). */
export interface LearningRateRange {
  readonly start: number;
  readonly end: number;
  readonly lr: number;
}

/**
 * One AdamW update of `params` in place from `grad`; advances `state`. With `ranges`, each range of the
 * parameters uses its own learning rate (torch's parameter groups); without, every parameter uses `config.lr`.
 */
export function adamwStep(
  params: Float32Array,
  grad: Float32Array,
  state: AdamWState,
  config: AdamWConfig,
  ranges: readonly LearningRateRange[] = [{ start: 0, end: params.length, lr: config.lr }],
): void {
  if (grad.length !== params.length || state.m.length !== params.length) {
    throw new Error(
      `adamw: sizes differ (params ${params.length}, grad ${grad.length}, m ${state.m.length})`,
    );
  }
  state.step += 1;
  const { beta1, beta2, eps, weightDecay } = config;
  const biasCorrection1 = 1 - beta1 ** state.step;
  const biasCorrection2Sqrt = Math.sqrt(1 - beta2 ** state.step);
  const { m, v } = state;
  for (const { start, end, lr } of ranges) {
    if (start < 0 || end > params.length || start > end) {
      throw new Error(`adamw: range [${start}, ${end}) is outside the ${params.length} parameters`);
    }
    const decay = 1 - lr * weightDecay;
    const stepSize = lr / biasCorrection1;
    for (let i = start; i < end; i++) {
      const g = grad[i]!;
      if (!Number.isFinite(g)) throw new Error(`adamw: gradient is not finite at element ${i} (${g})`);
      const p = Math.fround(params[i]! * decay);
      const mi = Math.fround(m[i]! + (1 - beta1) * (g - m[i]!));
      const vi = Math.fround(v[i]! * beta2 + (1 - beta2) * g * g);
      const denom = Math.fround(Math.fround(Math.sqrt(vi)) / biasCorrection2Sqrt) + eps;
      m[i] = mi;
      v[i] = vi;
      params[i] = p - stepSize * (mi / Math.fround(denom));
    }
  }
}
