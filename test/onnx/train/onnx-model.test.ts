/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The ONNX TrainingModel on tiny-sd against the golden PyTorch TI step: the initializer's embedding row as the start,
// and the loss and d loss / d row computed from a TrainBatch (ids, latents, noise, timesteps) as fed by the trainer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, toBigInt64, toFloat32 } from '../../../shared/safetensors.ts';
import type { TrainBatch } from '../../../trainer-image/src/train/batches.ts';
import { parseSchedulerConfig } from '../../../trainer-image/src/train/ddpm.ts';
import { loadOnnxModel } from '../../../trainer-image/src/train/onnx-model.ts';
import type { TrainingModel } from '../../../trainer-image/src/train/personalize.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const PIPELINE = fixtureDir('tiny-sd');
const golden = readSafetensors(new Uint8Array(readFileSync(join(PIPELINE, 'golden.safetensors'))));
const f32 = (name: string) => toFloat32(golden.tensors.get(name)!);
const schedule = parseSchedulerConfig(
  JSON.parse(readFileSync(join(PIPELINE, 'scheduler/scheduler_config.json'), 'utf8')),
);

let model: TrainingModel;
beforeAll(async () => {
  model = await loadOnnxModel(
    { pipelineDir: PIPELINE, placeholderId: 64, initializerId: 7, vocabSize: 64, nVectors: 1, schedule },
    { device: 'cpu' },
  );
});
afterAll(() => model.release());

const batch = (): TrainBatch => {
  const latents = f32('ti.latents');
  return {
    size: 2,
    inputIds: [...toBigInt64(golden.tensors.get('ti.input_ids')!)].map(Number),
    sequenceLength: 77,
    latentShape: [4, 16, 16],
    latents,
    noise: f32('ti.noise'),
    timesteps: [...toBigInt64(golden.tensors.get('ti.timesteps')!)].map(Number),
    noisyLatents: new Float32Array(latents.length),
    target: new Float32Array(latents.length),
  };
};

const relError = (a: Float32Array, b: Float32Array) => {
  let num = 0;
  let den = 0;
  a.forEach((x, i) => {
    num += (x - b[i]!) ** 2;
    den += b[i]! ** 2;
  });
  return Math.sqrt(num / den);
};

describe('loadOnnxModel on tiny-sd', () => {
  it('starts from the initializer token embedding row', () => {
    expect(model.hiddenSize).toBe(32);
    expect(model.initialRows).toEqual(f32('ti.initializer_row'));
  });

  it('gives the golden loss and placeholder gradient for the golden batch', async () => {
    const { loss, gradient } = await model.objective.lossAndGradient(model.initialRows, batch());
    const goldenLoss = f32('ti.loss')[0]!;
    expect(Math.abs(loss - goldenLoss) / goldenLoss).toBeLessThan(1e-5);
    expect(relError(gradient, f32('ti.grad_placeholder_row'))).toBeLessThan(1e-4);
    // The loss-only graph (the deterministic evaluation) agrees with the training graph's loss.
    expect(Math.abs((await model.objective.loss(model.initialRows, batch())) - loss)).toBeLessThan(1e-6);
  });

  it('refuses a tokenizer that does not match the text encoder', async () => {
    await expect(
      loadOnnxModel(
        { pipelineDir: PIPELINE, placeholderId: 70, initializerId: 7, vocabSize: 70, nVectors: 1, schedule },
        { device: 'cpu' },
      ),
    ).rejects.toThrow(/do not belong together/);
  });
});
