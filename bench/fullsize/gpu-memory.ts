// `node bench/fullsize/gpu-memory.ts --model <pipeline> [--resolution 512] [--batches 1,2,4]`: estimates the peak
// GPU memory of a textual-inversion training step from the graph (onnx/memory-estimate.ts: weights + the peak of
// live activations over the node order + a fixed CUDA context/workspace allowance) and prints JSON, one line per
// batch, with the smallest GPU of the table that fits.
import { parseArgs } from 'node:util';
import { memoryEstimateFits, TRAINING_GPUS } from '../../trainer-image/src/onnx/gpu-fit.ts';
import { estimateMemory } from '../../trainer-image/src/onnx/memory-estimate.ts';
import { defaultOpset } from '../../trainer-image/src/onnx/model.ts';
import { buildTrainingGraph } from '../../trainer-image/src/train/training-graph.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    resolution: { type: 'string', default: '512' },
    batches: { type: 'string', default: '1,2,4' },
  },
});
const model = values.model;
if (!model) throw new Error('--model <pipeline dir> is required');
const latent = Number(values.resolution) / 8;
for (const batch of values.batches.split(',').map(Number)) {
  const started = performance.now();
  const g = buildTrainingGraph(model, {
    batchSize: batch,
    latentSize: latent,
    frozenWeights: 'reference',
  });
  const ids = g.inputs.inputIds;
  const estimate = estimateMemory(g.train.graph, defaultOpset(g.train), {
    [ids]: [batch, 77],
    [g.inputs.latents]: [batch, 4, latent, latent],
    [g.inputs.noise]: [batch, 4, latent, latent],
    [g.inputs.timesteps]: [batch],
    [g.inputs.rows]: [1, g.hiddenSize],
  });
  const fits = memoryEstimateFits(estimate);
  process.stdout.write(
    `${JSON.stringify({
      model,
      method: 'textual-inversion',
      resolution: Number(values.resolution),
      batch,
      weightsGiB: estimate.weightBytes / 2 ** 30,
      activationsGiB: estimate.peakActivationBytes / 2 ** 30,
      totalGiB: fits.requiredBytes / 2 ** 30,
      unknownTensors: estimate.unknownTensors,
      smallestGpu: fits.smallest?.instance ?? null,
      fits: Object.fromEntries(TRAINING_GPUS.map((gpu) => [gpu.instance, fits.fitting.includes(gpu)])),
      ms: Math.round(performance.now() - started),
    })}\n`,
  );
}
