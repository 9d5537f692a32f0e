// DDPM noising and targets: the scaled_linear schedule, epsilon and v-prediction targets, and the noisy
// latents of the tiny-sd golden TI step (PyTorch/diffusers) reproduced from its latents, noise and timesteps.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { noiseAndTarget, parseSchedulerConfig } from '../../../trainer-image/src/train/ddpm.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const FIXTURE = fixtureDir('tiny-sd');

/** Minimal safetensors reader for the golden file (F32/I64 only), to keep this test self-contained. */
function readGolden(): Map<string, Float32Array | BigInt64Array> {
  const bytes = readFileSync(join(FIXTURE, 'golden.safetensors'));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header: Record<string, { dtype: string; data_offsets: [number, number] }> = JSON.parse(
    bytes.subarray(8, 8 + headerLength).toString('utf8'),
  );
  const tensors = new Map<string, Float32Array | BigInt64Array>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const [start, end] = info.data_offsets;
    const data = bytes.subarray(8 + headerLength + start, 8 + headerLength + end);
    const copy = new Uint8Array(data).buffer;
    if (info.dtype === 'F32') tensors.set(name, new Float32Array(copy));
    if (info.dtype === 'I64') tensors.set(name, new BigInt64Array(copy));
  }
  return tensors;
}

describe('DDPM schedule', () => {
  const config = JSON.parse(readFileSync(join(FIXTURE, 'scheduler/scheduler_config.json'), 'utf8'));

  it('computes scaled_linear ᾱ like diffusers', () => {
    const schedule = parseSchedulerConfig(config);
    expect(schedule.numTrainTimesteps).toBe(1000);
    expect(schedule.predictionType).toBe('epsilon');
    expect(schedule.alphasCumprod[0]).toBeCloseTo(1 - 0.00085, 7);
    // β_999 = 0.012, ᾱ decreasing to about 0.0047 for SD's schedule.
    expect(schedule.alphasCumprod[999]).toBeCloseTo(0.0047, 4);
    for (let t = 1; t < 1000; t++)
      expect(schedule.alphasCumprod[t]!).toBeLessThan(schedule.alphasCumprod[t - 1]!);
  });

  it('reproduces the golden noisy latents of the tiny-sd TI step', () => {
    const golden = readGolden();
    const latents = golden.get('ti.latents') as Float32Array;
    const noise = golden.get('ti.noise') as Float32Array;
    const timesteps = [...(golden.get('ti.timesteps') as BigInt64Array)].map(Number);
    const expected = golden.get('ti.noisy_latents') as Float32Array;
    const { noisy, target } = noiseAndTarget(parseSchedulerConfig(config), latents, noise, timesteps);
    let maxDiff = 0;
    expected.forEach((x, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(x - noisy[i]!));
    });
    expect(maxDiff).toBeLessThan(1e-6);
    expect(target).toEqual(noise);
  });

  it('gives the v-prediction target sqrt(ᾱ)·ε − sqrt(1 − ᾱ)·x0', () => {
    const schedule = parseSchedulerConfig({ ...config, prediction_type: 'v_prediction' });
    const t = 500;
    const abar = schedule.alphasCumprod[t]!;
    const { noisy, target } = noiseAndTarget(schedule, Float32Array.of(1, 2), Float32Array.of(0.5, -1), [t]);
    expect(target[0]).toBeCloseTo(Math.sqrt(abar) * 0.5 - Math.sqrt(1 - abar) * 1, 6);
    expect(target[1]).toBeCloseTo(Math.sqrt(abar) * -1 - Math.sqrt(1 - abar) * 2, 6);
    expect(noisy[1]).toBeCloseTo(Math.sqrt(abar) * 2 + Math.sqrt(1 - abar) * -1, 6);
  });

  it('supports the linear schedule and rejects unsupported ones', () => {
    const linear = parseSchedulerConfig({ beta_schedule: 'linear', beta_start: 0.0001, beta_end: 0.02 });
    expect(linear.alphasCumprod[0]).toBeCloseTo(0.9999, 7);
    expect(() => parseSchedulerConfig({ ...config, beta_schedule: 'squaredcos_cap_v2' })).toThrow(
      /beta_schedule/,
    );
    expect(() => parseSchedulerConfig({ ...config, prediction_type: 'sample' })).toThrow(/prediction_type/);
    expect(() => noiseAndTarget(linear, Float32Array.of(1), Float32Array.of(1), [1000])).toThrow(/outside/);
  });
});
