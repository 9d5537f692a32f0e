// A stand-in for the ONNX model in trainer wiring tests: a fake VAE (the first channels of the pixels as the
// posterior mean, small fixed logvar) and a quadratic objective on the row whose target depends on the batch.

import type { TrainBatch } from '../../../../trainer-image/src/train/batches.ts';
import type { ModelRequest, TrainingModel } from '../../../../trainer-image/src/train/personalize.ts';

export const STAND_IN_HIDDEN = 32;

export function standInModel(
  seen: { requests: ModelRequest[]; batches: TrainBatch[] } = { requests: [], batches: [] },
) {
  const D = STAND_IN_HIDDEN;
  const target = (batch: TrainBatch) => {
    const mean = batch.noisyLatents.reduce((s, x) => s + x, 0) / batch.noisyLatents.length;
    return Float32Array.from({ length: D }, (_, i) => mean + i / D + batch.timesteps[0]! / 1000);
  };
  const loss = (rows: Float32Array, batch: TrainBatch) => {
    const t = target(batch);
    return rows.reduce((s, x, i) => s + (x - t[i]!) ** 2, 0) / D;
  };
  return async (request: ModelRequest): Promise<TrainingModel> => {
    seen.requests.push(request);
    return {
      hiddenSize: D,
      initialRows: new Float32Array(D).fill(0.5),
      encodeVae: async (image) => {
        const h = image.height / 2;
        const w = image.width / 2;
        const data = new Float32Array(8 * h * w);
        for (let i = 0; i < data.length; i++)
          data[i] = i < 4 * h * w ? image.data[i % image.data.length]! : -3;
        return { data, dims: [1, 8, h, w] };
      },
      objective: {
        loss: async (rows, batch) => loss(rows, batch),
        lossAndGradient: async (rows, batch) => {
          seen.batches.push(batch);
          const t = target(batch);
          return { loss: loss(rows, batch), gradient: rows.map((x, i) => (2 * (x - t[i]!)) / D) };
        },
      },
      release: async () => {},
    };
  };
}
