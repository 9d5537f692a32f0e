/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// LoRA beyond the fixtures: a pipeline the tests have never seen — SD 2.1's architecture (OpenCLIP-style text
// encoder, linear proj_in/proj_out, head size 64, 1024-wide cross-attention) at the generator's tiny size,
// TorchScript naming and external data (scripts/make-fullsize-model.ts) — gets its adapters found and its
// gradients for every A, B and the token row checked against central finite differences of the loss.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relativeError } from '../../../cli/commands/gradcheck.ts';
import { writePipeline } from '../../../scripts/fullsize/write-pipeline.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { dreamboothLora } from '../../../trainer-image/src/train/methods/dreambooth-lora.ts';
import { buildTrainingGraph, sessionSource } from '../../../trainer-image/src/train/training-graph.ts';

const root = mkdtempSync(join(tmpdir(), 'plateau-lora-unseen-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Deterministic values in [−scale, scale]. */
function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * 2 * scale;
  });
}

describe('LoRA on an unseen SD 2.1-architecture export', () => {
  it('finds every attention projection and matches central finite differences', async () => {
    const dir = join(root, 'sd21');
    writePipeline({ arch: 'sd21', size: 'tiny', seed: 5, out: dir });
    const method = dreamboothLora({ rank: 2, alpha: 2, targets: 'paper' });
    // Static batch and latent size: onnxruntime plans the training session in seconds instead of minutes.
    const g = buildTrainingGraph(dir, {
      batchSize: 1,
      forwardBatchSize: 1,
      latentSize: 8,
      ...(method.unetSurgery ? { unetSurgery: method.unetSurgery } : {}),
    });
    expect(g.methodTrainables.length).toBeGreaterThan(0);
    expect(g.methodTrainables.length % 18).toBe(0); // 9 projections per transformer block, A and B each
    const seq = 77;
    const [c, h, w] = [4, 8, 8];
    const latentSize = c * h * w;
    const ids = Array.from({ length: seq }, (_, i) =>
      i >= 1 && i <= 3 ? g.vocabSize : (i * 7) % g.vocabSize,
    );
    const base: Record<string, TypedTensor> = {
      [g.inputs.inputIds]: {
        dataType: g.inputDataTypes.inputIds,
        dims: [1, seq],
        data:
          g.inputDataTypes.inputIds === DataType.INT32
            ? Int32Array.from(ids)
            : BigInt64Array.from(ids.map(BigInt)),
      },
      [g.inputs.latents]: { dataType: DataType.FLOAT, dims: [1, c, h, w], data: values(latentSize, 3) },
      [g.inputs.noise]: { dataType: DataType.FLOAT, dims: [1, c, h, w], data: values(latentSize, 4) },
      [g.inputs.timesteps]: {
        dataType: g.inputDataTypes.timesteps,
        dims: [1],
        data:
          g.inputDataTypes.timesteps === DataType.INT64
            ? BigInt64Array.of(400n)
            : g.inputDataTypes.timesteps === DataType.INT32
              ? Int32Array.of(400)
              : Float32Array.of(400),
      },
    };
    const trainables = [
      { name: g.inputs.rows, dims: [1, g.hiddenSize], gradient: g.gradient },
      ...g.methodTrainables,
    ];
    const point = trainables.map((t, k) =>
      values(
        t.dims.reduce((a, b) => a * b, 1),
        10 + k,
        0.5,
      ),
    );
    const feeds = (p: readonly Float32Array[]) => ({
      ...base,
      ...Object.fromEntries(
        trainables.map((t, k) => [t.name, { dataType: DataType.FLOAT, dims: t.dims, data: p[k]! }]),
      ),
    });
    const train = await Session.create(sessionSource(g.train, g.modelDir), {
      executionMode: 'parallel',
      interOpThreads: 1,
    });
    const out = await train.run(feeds(point));
    await train.release();
    const grads = trainables.map((t) => out[t.gradient]?.data as Float32Array);
    const forward = await Session.create(sessionSource(g.forward, g.modelDir));
    const loss = async (p: readonly Float32Array[]) => Number((await forward.run(feeds(p))).loss?.data[0]);
    // Directional derivatives along random unit directions over all trainables at once, then LoRA's only.
    const analytic: number[] = [];
    const numeric: number[] = [];
    const eps = 1e-2;
    for (let k = 0; k < 4; k++) {
      const onlyLora = k >= 2;
      const dirs = point.map((p, j) =>
        onlyLora && j === 0 ? new Float32Array(p.length) : values(p.length, 100 + 7 * k + j),
      );
      const norm = Math.sqrt(dirs.reduce((a, d) => a + d.reduce((s, v) => s + v * v, 0), 0));
      const shifted = (sign: number) =>
        point.map((p, j) => p.map((v, i) => v + (sign * eps * (dirs[j]![i] ?? 0)) / norm));
      numeric.push(((await loss(shifted(1))) - (await loss(shifted(-1)))) / (2 * eps));
      analytic.push(
        grads.reduce((a, gr, j) => a + gr.reduce((s, v, i) => s + (v * (dirs[j]![i] ?? 0)) / norm, 0), 0),
      );
    }
    await forward.release();
    expect(relativeError(analytic, numeric)).toBeLessThan(2e-3);
  }, 300_000);
});
