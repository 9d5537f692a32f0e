/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Pretraining with the project's autodiff on the tiny config: the loss goes down within a few dozen steps, and a
// run interrupted and resumed from its checkpoint ends with the same weights as an uninterrupted one.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
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
});
