/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Pretraining with the project's autodiff on the tiny config: the loss goes down within a few dozen steps, and a
// run interrupted and resumed from its checkpoint ends with the same weights as an uninterrupted one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  objectiveAt,
  PRETRAIN_DEFAULTS,
  type PretrainOptions,
  pretrain,
} from '../../../../models/src/pretrain/pretrain.ts';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plateau-pretrain-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function options(name: string, steps: number): PretrainOptions {
  return {
    ...PRETRAIN_DEFAULTS,
    size: 'tiny',
    seed: 11,
    steps,
    batchSize: 4,
    lr: 1e-2,
    warmupSteps: 1,
    checkpointEvery: 1000,
    checkpointPath: join(dir, `${name}.ckpt`),
    workDir: join(dir, name),
  };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

// Generous timeouts: a few seconds of CPU, but the shared CI machine may be busy.
describe('pretrain', () => {
  it('decreases the loss', async () => {
    const result = await pretrain(options('decrease', 30));
    expect(result.step).toBe(30);
    expect(result.losses).toHaveLength(30);
    expect(mean(result.losses.slice(-6))).toBeLessThan(0.8 * mean(result.losses.slice(0, 6)));
  }, 180_000);

  it('resumes from its checkpoint bit for bit', async () => {
    const straight = await pretrain(options('straight', 4));
    let calls = 0;
    const first = await pretrain({ ...options('resumed', 4), shouldStop: () => ++calls === 2 });
    expect(first.step).toBe(2);
    const resumed = await pretrain(options('resumed', 4));
    expect(resumed.step).toBe(4);
    expect(resumed.losses).toEqual(straight.losses);
    for (const [name, values] of straight.weights) expect(resumed.weights.get(name)).toEqual(values);
    for (const [name, values] of straight.ema) expect(resumed.ema.get(name)).toEqual(values);
  }, 180_000);

  it('switches to v-prediction with min-SNR weights and a fresh warm-up at vPredictionFrom', () => {
    const o = { ...options('objective', 10), vPredictionFrom: 5, warmupSteps: 4, minSnrGamma: 5 };
    expect(objectiveAt(o, 4).prediction).toBe('epsilon');
    expect(objectiveAt(o, 4).weight(0.99)).toBe(1);
    const v = objectiveAt(o, 5);
    expect(v.prediction).toBe('v_prediction');
    expect(v.warmup).toBeCloseTo(0.25, 12);
    expect(objectiveAt(o, 8).warmup).toBe(1);
    // SNR 1 → min(1, 5)/2; SNR 99 → 5/100 (the low-noise steps whose target is mostly pixel texture count less).
    expect(v.weight(0.5)).toBeCloseTo(0.5, 12);
    expect(v.weight(0.99)).toBeCloseTo(0.05, 12);
  });

  it('resumes across the switch to v-prediction, and refuses a changed phase 2 once it has begun', async () => {
    const o = (name: string) => ({ ...options(name, 5), vPredictionFrom: 2 });
    const straight = await pretrain(o('switch-straight'));
    expect(straight.prediction).toBe('v_prediction');
    let calls = 0;
    // Stopped during the ε phase: the checkpoint's recipe has no phase-2 fields yet, so it resumes.
    const first = await pretrain({ ...o('switch-resumed'), shouldStop: () => ++calls === 1 });
    expect(first.prediction).toBe('epsilon');
    const resumed = await pretrain(o('switch-resumed'));
    expect(resumed.losses).toEqual(straight.losses);
    for (const [name, values] of straight.ema) expect(resumed.ema.get(name)).toEqual(values);
    await expect(pretrain({ ...o('switch-resumed'), steps: 6, minSnrGamma: 1 })).rejects.toThrow(
      /another recipe/,
    );
  }, 180_000);
});
