// DDIM with an exact ε oracle: for data that is a single point c, ε(x, t) = (x − sqrt(ᾱ_t)·c) / sqrt(1 − ᾱ_t) and
// deterministic DDIM must land on c from any starting noise; guidance mixes conditional and unconditional ε.
import { ddimSample, ddimTimesteps } from '../../../../models/src/sampler/ddim.ts';
import { parseSchedulerConfig } from '../../../../trainer-image/src/train/ddpm.ts';
import { Rng } from '../../../../trainer-image/src/train/rng.ts';

const schedule = parseSchedulerConfig({ beta_schedule: 'linear', beta_start: 0.0001, beta_end: 0.02 });

function oracle(c: Float32Array) {
  return (x: Float32Array, t: number): Float32Array => {
    const ab = schedule.alphasCumprod[t] ?? 1;
    return x.map((xi, i) => (xi - Math.sqrt(ab) * (c[i] ?? 0)) / Math.sqrt(1 - ab));
  };
}

describe('ddimSample', () => {
  it('uses evenly spaced descending timesteps ending at 0', () => {
    expect(ddimTimesteps(1000, 4)).toEqual([750, 500, 250, 0]);
  });

  it('recovers a point mass from noise', async () => {
    const c = Float32Array.from([0.5, -0.25, 0.9, -0.8]);
    const eps = oracle(c);
    const out = await ddimSample(
      schedule,
      async (x, t) => ({ cond: eps(x, t), uncond: eps(x, t) }),
      Rng.forStream(1, 'd').normal(4),
      {
        steps: 20,
        guidance: 3,
      },
    );
    for (let i = 0; i < 4; i++) expect(out[i]).toBeCloseTo(c[i] ?? 0, 4);
  });

  it('follows the guided prediction: guidance 1 gives the conditional target', async () => {
    const cond = oracle(Float32Array.from([0.6, 0.6]));
    const uncond = oracle(Float32Array.from([-0.6, -0.6]));
    const out = await ddimSample(
      schedule,
      async (x, t) => ({ cond: cond(x, t), uncond: uncond(x, t) }),
      Rng.forStream(2, 'd').normal(2),
      {
        steps: 25,
        guidance: 1,
      },
    );
    expect(out[0]).toBeCloseTo(0.6, 3);
    expect(out[1]).toBeCloseTo(0.6, 3);
  });

  it('reads v predictions when the schedule says v_prediction', async () => {
    const vSchedule = parseSchedulerConfig({
      beta_schedule: 'linear',
      beta_start: 0.0001,
      beta_end: 0.02,
      prediction_type: 'v_prediction',
    });
    const c = Float32Array.from([0.4, -0.7, 0.1]);
    // v = √ᾱ·ε − √(1−ᾱ)·x0 with the exact ε of a point mass at c.
    const v = (x: Float32Array, t: number) => {
      const ab = vSchedule.alphasCumprod[t] ?? 1;
      const e = oracle(c)(x, t);
      return x.map((_, i) => Math.sqrt(ab) * (e[i] ?? 0) - Math.sqrt(1 - ab) * (c[i] ?? 0));
    };
    const out = await ddimSample(
      vSchedule,
      async (x, t) => ({ cond: v(x, t), uncond: v(x, t) }),
      Rng.forStream(3, 'd').normal(3),
      { steps: 2, guidance: 2 },
    );
    for (let i = 0; i < 3; i++) expect(out[i]).toBeCloseTo(c[i] ?? 0, 4);
    // A zero prediction separates the readings: v = 0 means x0 = √ᾱ·x_t, ε = 0 means x0 = x_t/√ᾱ.
    const zero = async (x: Float32Array) => ({
      cond: new Float32Array(x.length),
      uncond: new Float32Array(x.length),
    });
    const start = Float32Array.from([0.2]);
    const [ab500, ab0] = [vSchedule.alphasCumprod[500] ?? 1, vSchedule.alphasCumprod[0] ?? 1];
    // Hand-run of the two DDIM steps (t = 500 → 0 → clean) with v = 0.
    const x0a = Math.sqrt(ab500) * 0.2;
    const x1 =
      Math.sqrt(ab0) * x0a + Math.sqrt(1 - ab0) * ((0.2 - Math.sqrt(ab500) * x0a) / Math.sqrt(1 - ab500));
    const fromV = await ddimSample(vSchedule, zero, start, { steps: 2, guidance: 1 });
    expect(fromV[0]).toBeCloseTo(Math.sqrt(ab0) * x1, 6);
    const fromEps = await ddimSample(schedule, zero, start, { steps: 2, guidance: 1 });
    expect(Math.abs((fromEps[0] ?? 0) - (fromV[0] ?? 0))).toBeGreaterThan(0.1);
  });
});
