/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Beyond the fixtures: an SD 2-style pipeline built in code (opset 14, decomposed LayerNorm, GELU, linear
// projections, GEGLU, float timestep, v-prediction) goes through the same training-graph builder with no code
// change; its loss matches the components run separately and its gradients match central finite differences.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { relativeError } from '../../../cli/commands/gradcheck.ts';
import { encodeModel, loadModel } from '../../../trainer-image/src/onnx/codec.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { noiseAndTarget } from '../../../trainer-image/src/train/ddpm.ts';
import { buildTrainingGraph, sessionSource } from '../../../trainer-image/src/train/training-graph.ts';
import { SD2_STYLE, writeSd2StylePipeline } from '../support/sd2-style-pipeline.ts';

const B = 2;
const { seq, d, vocab } = SD2_STYLE.te;
const size = SD2_STYLE.unet.size;

function values(n: number, seed: number, scale = 1): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return (s / 2147483648 - 0.5) * 2 * scale;
  });
}

let dir: string;
beforeAll(() => {
  dir = writeSd2StylePipeline(mkdtempSync(join(tmpdir(), 'plateau-sd2-style-')));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function feeds(ids: readonly number[], rows: Float32Array): Record<string, TypedTensor> {
  return {
    placeholder_rows: { dataType: DataType.FLOAT, dims: [1, d], data: rows },
    input_ids: { dataType: DataType.INT64, dims: [B, seq], data: BigInt64Array.from(ids.map(BigInt)) },
    latents: { dataType: DataType.FLOAT, dims: [B, 4, size, size], data: values(B * 4 * size * size, 3) },
    noise: { dataType: DataType.FLOAT, dims: [B, 4, size, size], data: values(B * 4 * size * size, 4) },
    timesteps: { dataType: DataType.FLOAT, dims: [B], data: new Float32Array([37, 801]) },
  };
}

const lossOf = (out: Record<string, TypedTensor>): number => Number(out.loss?.data[0]);

describe('SD 2-style pipeline (not a fixture)', () => {
  it('reads the float timestep from the model and computes the v-prediction loss of the components', async () => {
    const g = buildTrainingGraph(dir);
    expect(g.inputDataTypes.timesteps).toBe(DataType.FLOAT);
    expect(g.predictionType).toBe('v_prediction');
    expect(g.placeholderIds).toEqual([vocab]);
    const ids = Array.from({ length: B * seq }, (_, i) => (i * 5) % vocab);
    const f = feeds(ids, values(d, 9));
    const forward = await Session.create(sessionSource(g.forward, g.modelDir));
    const graphLoss = lossOf(await forward.run(f));
    await forward.release();

    const te = await Session.create(encodeModel(loadModel(join(dir, 'text_encoder', 'model.onnx'))));
    const hidden = (await te.run({ input_ids: f.input_ids as TypedTensor })).last_hidden_state as TypedTensor;
    await te.release();
    const { noisy, target } = noiseAndTarget(
      g.schedule,
      f.latents?.data as Float32Array,
      f.noise?.data as Float32Array,
      [37, 801],
    );
    const unet = await Session.create(encodeModel(loadModel(join(dir, 'unet', 'model.onnx'))));
    const pred = (
      await unet.run({
        sample: { dataType: DataType.FLOAT, dims: [B, 4, size, size], data: noisy },
        timestep: f.timesteps as TypedTensor,
        encoder_hidden_states: hidden,
      })
    ).out_sample?.data as Float32Array;
    await unet.release();
    let mse = 0;
    pred.forEach((p, i) => {
      mse += (p - (target[i] ?? 0)) ** 2;
    });
    mse /= pred.length;
    expect(Math.abs(graphLoss - mse) / mse).toBeLessThan(1e-5);
  });

  it('keeps external UNet weights in their file and computes the same loss and gradient from it', async () => {
    const external = writeSd2StylePipeline(mkdtempSync(join(tmpdir(), 'plateau-sd2-external-')), {
      externalData: true,
    });
    try {
      const inline = buildTrainingGraph(dir);
      const g = buildTrainingGraph(external);
      expect(g.train.graph.initializers.some((t) => t.data.kind === 'external')).toBe(true);
      const source = sessionSource(g.train, g.modelDir);
      expect(typeof source).toBe('string');
      // The written graph references weights.pb instead of carrying it.
      const saved = encodeModel(inline.train).byteLength - readFileSync(source as string).byteLength;
      expect(saved).toBeGreaterThan(0.9 * statSync(join(external, 'unet', 'weights.pb')).size);
      const ids = Array.from({ length: B * seq }, (_, i) => (i % seq === 1 ? vocab : i % vocab));
      const f = feeds(ids, values(d, 17));
      const a = await Session.create(source);
      const b = await Session.create(sessionSource(inline.train, inline.modelDir));
      const [outA, outB] = [await a.run(f), await b.run(f)];
      await a.release();
      await b.release();
      expect(lossOf(outA)).toBe(lossOf(outB));
      expect([...(outA.gradient?.data ?? [])]).toEqual([...(outB.gradient?.data ?? [])]);
    } finally {
      rmSync(external, { recursive: true, force: true });
    }
  });

  it('matches central finite differences for the placeholder row', async () => {
    const g = buildTrainingGraph(dir, { wrt: 'placeholder' });
    // The row reaches the loss only through cross-attention, so its gradient is small next to the loss: use it at
    // three positions and a wide step, where float32 rounding of the loss stays well under the tolerance.
    const ids = Array.from({ length: B * seq }, (_, i) =>
      i % seq >= 1 && i % seq <= 3 ? vocab : (i * 3) % vocab,
    );
    const rows = values(d, 11);
    const train = await Session.create(sessionSource(g.train, g.modelDir));
    const grad = (await train.run(feeds(ids, rows))).gradient?.data as Float32Array;
    await train.release();
    const forward = await Session.create(sessionSource(g.forward, g.modelDir));
    const eps = 0.1;
    const fd: number[] = [];
    for (let j = 0; j < d; j++) {
      const plus = Float32Array.from(rows);
      const minus = Float32Array.from(rows);
      plus[j] = (plus[j] ?? 0) + eps;
      minus[j] = (minus[j] ?? 0) - eps;
      const lp = lossOf(await forward.run(feeds(ids, plus)));
      const lm = lossOf(await forward.run(feeds(ids, minus)));
      fd.push((lp - lm) / (2 * eps));
    }
    await forward.release();
    expect(relativeError(grad, fd)).toBeLessThan(1e-2);
  }, 120_000);

  it('matches central finite differences for conv_in.weight along random directions', async () => {
    const g = buildTrainingGraph(dir, { wrt: 'conv_in' });
    const weight = g.trainableInitial as Float32Array;
    const ids = Array.from({ length: B * seq }, (_, i) => (i % seq === 1 ? vocab : (i * 7) % vocab));
    const base = feeds(ids, values(d, 13));
    const withWeight = (w: Float32Array) => ({
      ...base,
      [g.trainable]: { dataType: DataType.FLOAT, dims: g.trainableDims, data: w },
    });
    const train = await Session.create(sessionSource(g.train, g.modelDir));
    const grad = (await train.run(withWeight(weight))).gradient?.data as Float32Array;
    await train.release();
    const forward = await Session.create(sessionSource(g.forward, g.modelDir));
    const eps = 1e-2;
    const analytic: number[] = [];
    const numeric: number[] = [];
    for (let k = 0; k < 4; k++) {
      const dir = values(weight.length, 100 + k);
      const norm = Math.sqrt(dir.reduce((a, v) => a + v * v, 0));
      const plus = weight.map((w, i) => w + (eps * (dir[i] ?? 0)) / norm);
      const minus = weight.map((w, i) => w - (eps * (dir[i] ?? 0)) / norm);
      numeric.push(
        (lossOf(await forward.run(withWeight(plus))) - lossOf(await forward.run(withWeight(minus)))) /
          (2 * eps),
      );
      analytic.push(grad.reduce((a, gv, i) => a + (gv * (dir[i] ?? 0)) / norm, 0));
    }
    await forward.release();
    expect(relativeError(analytic, numeric)).toBeLessThan(2e-3);
  }, 120_000);
});
