// Deterministic DDIM sampling (η = 0) over the model's DDPM schedule with classifier-free guidance: from
// x_T ~ N(0, I), at each of `steps` evenly spaced timesteps predict ε (guided), estimate x0 (clipped to [−1, 1]
// like the scheduler's clip_sample), re-derive ε from the clipped x0 and step to the previous timestep.
import type { DdpmSchedule } from '../../../trainer-image/src/train/ddpm.ts';

/** ε predictions for a batch at timestep t: conditional and unconditional, each shaped like x. */
export type EpsilonModel = (
  x: Float32Array,
  t: number,
) => Promise<{ cond: Float32Array; uncond: Float32Array }>;

export interface DdimOptions {
  readonly steps: number;
  readonly guidance: number;
}

/** The DDIM timesteps, descending: T/steps apart, the last one 0. */
export function ddimTimesteps(numTrainTimesteps: number, steps: number): number[] {
  const stride = Math.floor(numTrainTimesteps / steps);
  return Array.from({ length: steps }, (_, i) => (steps - 1 - i) * stride);
}

export async function ddimSample(
  schedule: DdpmSchedule,
  model: EpsilonModel,
  initialNoise: Float32Array,
  options: DdimOptions,
): Promise<Float32Array> {
  const x = initialNoise.slice();
  const ts = ddimTimesteps(schedule.numTrainTimesteps, options.steps);
  for (let k = 0; k < ts.length; k++) {
    const t = ts[k] ?? 0;
    const prev = ts[k + 1];
    const ab = schedule.alphasCumprod[t] ?? 1;
    const abPrev = prev === undefined ? 1 : (schedule.alphasCumprod[prev] ?? 1);
    const { cond, uncond } = await model(x, t);
    const sa = Math.sqrt(ab);
    const s1 = Math.sqrt(1 - ab);
    const saPrev = Math.sqrt(abPrev);
    const s1Prev = Math.sqrt(1 - abPrev);
    for (let i = 0; i < x.length; i++) {
      const u = uncond[i] ?? 0;
      const eps = u + options.guidance * ((cond[i] ?? 0) - u);
      const xi = x[i] ?? 0;
      const x0 = Math.max(-1, Math.min(1, (xi - s1 * eps) / sa));
      const epsClipped = (xi - sa * x0) / s1;
      x[i] = saPrev * x0 + s1Prev * epsClipped;
    }
  }
  return x;
}
