/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// frozenWeights 'reference': the backward pass reads every frozen weight as stored (Gemm transB, ConvTranspose)
// instead of a transposed or flipped copy onnxruntime would fold at session start, and the loss and placeholder
// gradient still match PyTorch's float64 goldens within 1e-4 on tiny-sd15topo (SD 1.5's topology).
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

const DIR = fixtureDir('tiny-sd15topo');

function tensor(golden: SafetensorsFile, key: string) {
  const t = golden.tensors.get(key);
  if (!t) throw new Error(`golden has no '${key}'`);
  return t;
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

function goldenFeeds(g: TrainingGraph, golden: SafetensorsFile): Record<string, TypedTensor> {
  const ints = (key: string) => ({
    dataType: g.inputDataTypes.inputIds,
    dims: tensor(golden, key).shape,
    data: toBigInt64(tensor(golden, key)),
  });
  const floats = (key: string) => ({
    dataType: DataType.FLOAT,
    dims: tensor(golden, key).shape,
    data: toFloat32(tensor(golden, key)),
  });
  const row = toFloat32(tensor(golden, 'ti.initializer_row'));
  return {
    [g.inputs.rows]: { dataType: DataType.FLOAT, dims: [1, row.length], data: row },
    [g.inputs.inputIds]: ints('ti.input_ids'),
    [g.inputs.latents]: floats('ti.latents'),
    [g.inputs.noise]: floats('ti.noise'),
    [g.inputs.timesteps]: { ...ints('ti.timesteps'), dataType: g.inputDataTypes.timesteps },
  };
}

/** Backward nodes that would fold into a copy of a frozen weight: a Transpose or Slice reading a ≥ 2-D initializer. */
function weightCopies(g: TrainingGraph): string[] {
  const weights = new Set(g.train.graph.initializers.filter((t) => t.dims.length >= 2).map((t) => t.name));
  return g.train.graph.nodes
    .filter((n) => (n.opType === 'Transpose' || n.opType === 'Slice') && weights.has(n.inputs[0] ?? ''))
    .map((n) => n.name);
}

describe("frozenWeights: 'reference'", () => {
  it('copies no weight and keeps the gradients of the goldens', async () => {
    const golden = readSafetensors(readFileSync(join(DIR, 'golden.safetensors')));
    const folded = buildTrainingGraph(DIR);
    expect(weightCopies(folded).length).toBeGreaterThan(0);
    const g = buildTrainingGraph(DIR, { frozenWeights: 'reference' });
    expect(weightCopies(g)).toEqual([]);

    const session = await Session.create(sessionSource(g.train, g.modelDir), { intraOpThreads: 1 });
    const out = await session.run(goldenFeeds(g, golden));
    await session.release();
    const loss = out[g.loss]?.data;
    const grad = out[g.gradient]?.data;
    if (!(loss instanceof Float32Array) || !(grad instanceof Float32Array))
      throw new Error('missing outputs');
    const ref = (name: string) =>
      toFloat64(golden.tensors.get(`ti64.${name}`) ?? tensor(golden, `ti.${name}`));
    expect(relErr(loss, ref('loss'))).toBeLessThanOrEqual(1e-4);
    expect(relErr(grad, ref('grad_placeholder_row'))).toBeLessThanOrEqual(1e-4);
  }, 300_000);
});
