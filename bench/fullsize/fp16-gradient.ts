// `node bench/fullsize/fp16-gradient.ts --fp32 <pipeline> --fp16 <pipeline> [--resolution 256] [--batch 2]`: the
// loss and placeholder gradient of the same step on an fp32 export and on its fp16 twin (same seed: the weights are
// the fp32 ones rounded to fp16; the fp16 graph trains upcast to fp32), as JSON: relative error of each.
import { parseArgs } from 'node:util';
import { DataType } from '../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import { lowMemorySessionOptions } from '../../trainer-image/src/train/shared-session-objective.ts';
import { buildTrainingGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';

const { values } = parseArgs({
  options: {
    fp32: { type: 'string' },
    fp16: { type: 'string' },
    resolution: { type: 'string', default: '256' },
    batch: { type: 'string', default: '2' },
  },
});
if (!values.fp32 || !values.fp16) throw new Error('--fp32 <pipeline> and --fp16 <pipeline> are required');
const batch = Number(values.batch);
const latent = Number(values.resolution) / 8;

async function step(model: string): Promise<{ loss: number; gradient: Float32Array; ms: number }> {
  const started = performance.now();
  const g = buildTrainingGraph(model, { batchSize: batch, frozenWeights: 'reference' });
  const session = await Session.create(sessionSource(g.train, g.modelDir), lowMemorySessionOptions({}));
  const n = batch * 4 * latent * latent;
  const ids = new BigInt64Array(batch * 77).fill(49407n);
  for (let i = 0; i < batch; i++) {
    ids[i * 77] = 49406n;
    ids[i * 77 + 1] = 1n;
    ids[i * 77 + 2] = BigInt(g.placeholderIds[0] ?? 0);
  }
  const feeds: Record<string, TypedTensor> = {
    [g.inputs.rows]: {
      dataType: DataType.FLOAT,
      dims: [1, g.hiddenSize],
      data: Float32Array.from({ length: g.hiddenSize }, (_, i) => 0.02 * Math.sin(i)),
    },
    [g.inputs.inputIds]: { dataType: g.inputDataTypes.inputIds, dims: [batch, 77], data: ids },
    [g.inputs.latents]: {
      dataType: DataType.FLOAT,
      dims: [batch, 4, latent, latent],
      data: Float32Array.from({ length: n }, (_, i) => Math.sin(0.37 * i)),
    },
    [g.inputs.noise]: {
      dataType: DataType.FLOAT,
      dims: [batch, 4, latent, latent],
      data: Float32Array.from({ length: n }, (_, i) => Math.cos(0.11 * i)),
    },
    [g.inputs.timesteps]: {
      dataType: g.inputDataTypes.timesteps,
      dims: [batch],
      data: BigInt64Array.from({ length: batch }, (_, i) => BigInt(150 + 300 * i)),
    },
  };
  const out = await session.run(feeds, [g.loss, g.gradient]);
  await session.release();
  const loss = out[g.loss]?.data[0];
  const gradient = out[g.gradient]?.data;
  if (typeof loss !== 'number' || !(gradient instanceof Float32Array))
    throw new Error(`${model}: no outputs`);
  return { loss, gradient, ms: Math.round(performance.now() - started) };
}

const a = await step(values.fp32);
const b = await step(values.fp16);
let num = 0;
let den = 0;
let maxAbs = 0;
a.gradient.forEach((x, i) => {
  const d = x - (b.gradient[i] ?? 0);
  num += d * d;
  den += x * x;
  maxAbs = Math.max(maxAbs, Math.abs(d));
});
process.stdout.write(
  `${JSON.stringify({
    fp32: values.fp32,
    fp16: values.fp16,
    resolution: Number(values.resolution),
    batch,
    lossFp32: a.loss,
    lossFp16: b.loss,
    lossRelErr: Math.abs(a.loss - b.loss) / Math.abs(a.loss),
    gradientRelErr: Math.sqrt(num / den),
    gradientMaxAbsDiff: maxAbs,
    gradientNorm: Math.sqrt(den),
    ms: [a.ms, b.ms],
  })}\n`,
);
