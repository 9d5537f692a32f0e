// Deterministic DDIM sampling (η = 0) over the model's DDPM schedule with classifier-free guidance: from
// x_T ~ N(0, I), at each of `steps` evenly spaced timesteps predict ε or v (guided), estimate x0 (clipped to
// [−1, 1] like the scheduler's clip_sample), re-derive ε from the clipped x0 and step to the previous timestep.
import type { DdpmSchedule } from '../../../trainer-image/src/train/ddpm.ts';

/** Model outputs (ε or v, as the schedule says) at timestep t: conditional and unconditional, shaped like x. */
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
  const v = schedule.predictionType === 'v_prediction';
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
      const guided = u + options.guidance * ((cond[i] ?? 0) - u);
      const xi = x[i] ?? 0;
      // x_t = √ᾱ·x0 + √(1−ᾱ)·ε and v = √ᾱ·ε − √(1−ᾱ)·x0, so x0 = √ᾱ·x_t − √(1−ᾱ)·v: no 1/√ᾱ blow-up at high noise.
      const raw = v ? sa * xi - s1 * guided : (xi - s1 * guided) / sa;
      const x0 = Math.max(-1, Math.min(1, raw));
      const epsClipped = (xi - sa * x0) / s1;
      x[i] = saPrev * x0 + s1Prev * epsClipped;
    }
  }
  return x;
}
