/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The training graph built for a known batch (TrainingGraphOptions.batchSize): static batched inputs, no
// more nodes than the symbolic graph (whose gradient reshapes take constant 0/−1 shapes too), the same loss and
// placeholder gradient as PyTorch within 1e-4, and a clear onnxruntime error when fed another batch. The symbolic
// `forward` stays usable at any batch.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  readSafetensors,
  type SafetensorsFile,
  toBigInt64,
  toFloat32,
  toFloat64,
} from '../../../shared/safetensors.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import {
  buildTrainingGraph,
  sessionSource,
  type TrainingGraph,
} from '../../../trainer-image/src/train/training-graph.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const DIR = fixtureDir('tiny-sd');

function tensor(golden: SafetensorsFile, key: string) {
  const t = golden.tensors.get(key);
  if (!t) throw new Error(`golden has no '${key}'`);
  return t;
}

function reference(golden: SafetensorsFile, name: string): Float64Array {
  return toFloat64(golden.tensors.get(`ti64.${name}`) ?? tensor(golden, `ti.${name}`));
}

function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += ((ours[i] ?? 0) - (ref[i] ?? 0)) ** 2;
    den += (ref[i] ?? 0) ** 2;
  }
  return Math.sqrt(num / den);
}

/** Golden feeds (tiny-sd declares int64 ids and timesteps, float latents), the first `batch` items. */
function feeds(g: TrainingGraph, golden: SafetensorsFile, batch?: number): Record<string, TypedTensor> {
  const take = <T extends BigInt64Array | Float32Array>(data: T, dims: readonly number[]) => {
    const n = batch ?? dims[0] ?? 1;
    const per = dims.slice(1).reduce((a, b) => a * b, 1);
    return { dims: [n, ...dims.slice(1)], data: data.slice(0, n * per) as T };
  };
  const ints = (key: string) => ({
    dataType: DataType.INT64,
    ...take(toBigInt64(tensor(golden, key)), tensor(golden, key).shape),
  });
  const floats = (key: string) => ({
    dataType: DataType.FLOAT,
    ...take(toFloat32(tensor(golden, key)), tensor(golden, key).shape),
  });
  const row = toFloat32(tensor(golden, 'ti.initializer_row'));
  return {
    [g.inputs.rows]: { dataType: DataType.FLOAT, dims: [1, row.length], data: row },
    [g.inputs.inputIds]: ints('ti.input_ids'),
    [g.inputs.latents]: floats('ti.latents'),
    [g.inputs.noise]: floats('ti.noise'),
    [g.inputs.timesteps]: ints('ti.timesteps'),
  };
}

describe('training graph for a known batch', () => {
  it('is static, no larger, matches the goldens, and rejects another batch', async () => {
    const golden = readSafetensors(readFileSync(join(DIR, 'golden.safetensors')));
    const batch = tensor(golden, 'ti.input_ids').shape[0] ?? 0;
    const symbolic = buildTrainingGraph(DIR);
    const fixed = buildTrainingGraph(DIR, { batchSize: batch });
    for (const name of [
      fixed.inputs.inputIds,
      fixed.inputs.latents,
      fixed.inputs.noise,
      fixed.inputs.timesteps,
    ]) {
      expect(fixed.train.graph.inputs.find((v) => v.name === name)?.dims?.[0]).toBe(batch);
    }
    expect(fixed.train.graph.nodes.length).toBeLessThanOrEqual(symbolic.train.graph.nodes.length);

    const train = await Session.create(sessionSource(fixed.train, fixed.modelDir), { intraOpThreads: 1 });
    const out = await train.run(feeds(fixed, golden));
    const loss = out[fixed.loss]?.data;
    const grad = out[fixed.gradient]?.data;
    if (!(loss instanceof Float32Array) || !(grad instanceof Float32Array))
      throw new Error('missing outputs');
    expect(relErr(loss, reference(golden, 'loss'))).toBeLessThanOrEqual(1e-4);
    expect(relErr(grad, reference(golden, 'grad_placeholder_row'))).toBeLessThanOrEqual(1e-4);
    await expect(train.run(feeds(fixed, golden, 1))).rejects.toThrow(/input_ids/);
    await train.release();

    const forward = await Session.create(sessionSource(fixed.forward, fixed.modelDir), { intraOpThreads: 1 });
    const one = await forward.run(feeds(fixed, golden, 1));
    expect(one[fixed.loss]?.dims).toEqual([]);
    await forward.release();
  }, 300_000);
});
