/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The loss_weights input of the training graph (Custom Diffusion's masked loss and prior loss weight) on tiny-sd
// with the Custom Diffusion surgery: weights of 1 give the plain loss and gradient; item weights [1, λ] give
// (L₀ + λ·L₁)/2 of the per-item plain losses; and with a zoomed-out mask on one item the gradients of the token
// row and every K/V matrix match central finite differences of the masked loss.

import { goldenFeeds } from '../../../bench/gradcheck/golden-feeds.ts';
import { relativeError } from '../../../cli/commands/gradcheck.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { itemLossWeights } from '../../../trainer-image/src/train/batches.ts';
import { customDiffusion } from '../../../trainer-image/src/train/methods/custom-diffusion.ts';
import { applyRescale } from '../../../trainer-image/src/train/random-rescale.ts';
import { Rng } from '../../../trainer-image/src/train/rng.ts';
import {
  buildTrainingGraph,
  LOSS_WEIGHTS,
  sessionSource,
  type TrainingGraph,
} from '../../../trainer-image/src/train/training-graph.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const DIR = fixtureDir('tiny-sd');

function method() {
  return customDiffusion({
    classWord: 'toy',
    classImages: 0,
    priorPreservation: false,
    priorLossWeight: 1,
    maxGradNorm: 1,
  });
}

/** Item `b` of every batched feed. */
function item(feeds: Record<string, TypedTensor>, names: readonly string[], b: number) {
  const out: Record<string, TypedTensor> = { ...feeds };
  for (const name of names) {
    const t = feeds[name];
    if (!t) continue;
    const n = t.dims[0] ?? 1;
    const per = t.data.length / n;
    out[name] = {
      ...t,
      dims: [1, ...t.dims.slice(1)],
      data: t.data.slice(b * per, (b + 1) * per),
    } as TypedTensor;
  }
  return out;
}

async function lossOf(session: Session, feeds: Record<string, TypedTensor>): Promise<number> {
  const v = (await session.run(feeds, ['loss'])).loss?.data[0];
  if (typeof v !== 'number') throw new Error('no loss');
  return v;
}

describe('masked loss (loss_weights)', () => {
  it('reduces to the plain loss, weights items, and has the gradient of finite differences', async () => {
    const cd = method();
    const plain = buildTrainingGraph(DIR, {
      ...(cd.unetSurgery ? { unetSurgery: cd.unetSurgery } : {}),
    });
    const cd2 = method();
    const weighted = buildTrainingGraph(DIR, {
      lossWeights: true,
      ...(cd2.unetSurgery ? { unetSurgery: cd2.unetSurgery } : {}),
    });
    expect(weighted.lossWeights).toBe(true);
    expect(weighted.forward.graph.inputs.some((v) => v.name === LOSS_WEIGHTS)).toBe(true);
    expect(plain.forward.graph.inputs.some((v) => v.name === LOSS_WEIGHTS)).toBe(false);

    const golden = goldenFeeds(DIR, plain);
    const latents = golden[plain.inputs.latents]!;
    const [batch, , h, w] = latents.dims as [number, number, number, number];
    expect(batch).toBeGreaterThanOrEqual(2);
    // K/V at the base model's weights, perturbed a little so the point is not special; detach twins share them.
    const init = Rng.forStream(3, 'test');
    const trainables = [
      { name: plain.inputs.rows, dims: [1, plain.hiddenSize], gradient: plain.gradient },
      ...weighted.methodTrainables,
    ];
    const point = trainables.map((t, k) =>
      k === 0
        ? (golden[plain.inputs.rows]!.data as Float32Array)
        : cd2.initial(t, init).map((v, i) => v + 0.01 * Math.sin(i + k)),
    );
    const feedsAt = (g: TrainingGraph, p: readonly Float32Array[], weights?: Float32Array) => {
      const out: Record<string, TypedTensor> = { ...golden };
      trainables.forEach((t, k) => {
        out[t.name] = { dataType: DataType.FLOAT, dims: t.dims, data: p[k]! };
      });
      // The detach twins stay at the point: position 0's K/V pass no gradient, so finite differences hold them.
      for (const c of g.constantFeeds) {
        const k = trainables.findIndex((t) => t.name === c.feedFrom);
        out[c.name] = { dataType: DataType.FLOAT, dims: trainables[k]!.dims, data: point[k]! };
      }
      if (weights) out[LOSS_WEIGHTS] = { dataType: DataType.FLOAT, dims: [batch, 1, h, w], data: weights };
      return out;
    };
    const open = (g: TrainingGraph, which: 'train' | 'forward') =>
      Session.create(sessionSource(g[which], g.modelDir), { intraOpThreads: 1 });
    const plainFwd = await open(plain, 'forward');
    const weightedFwd = await open(weighted, 'forward');
    const cells = h * w;
    const ones = new Float32Array(batch * cells).fill(1);

    // Weights 1: the plain loss (the mean is over the same elements).
    const plainLoss = await lossOf(plainFwd, feedsAt(plain, point));
    expect(await lossOf(weightedFwd, feedsAt(weighted, point, ones))).toBeCloseTo(plainLoss, 6);

    // Item weights [1, λ, 1 …]: the mean over items of λ_b × the item's loss.
    const lambda = 0.3;
    const items = Array.from({ length: batch }, (_, b) => ({
      ids: [],
      latents: new Float32Array(0),
      weight: b === 1 ? lambda : 1,
    }));
    const batched = [plain.inputs.inputIds, plain.inputs.latents, plain.inputs.noise, plain.inputs.timesteps];
    let expected = 0;
    for (let b = 0; b < batch; b++) {
      const l = await lossOf(plainFwd, item(feedsAt(plain, point), batched, b));
      expected += ((b === 1 ? lambda : 1) * l) / batch;
    }
    const itemWeighted = await lossOf(weightedFwd, feedsAt(weighted, point, itemLossWeights(items, cells)));
    expect(itemWeighted).toBeCloseTo(expected, 6);
    expect(Math.abs(itemWeighted - plainLoss)).toBeGreaterThan(1e-4);

    // A zoomed-out item 0 (mask of part of the latent), the rest whole: the masked loss and its gradient.
    const side = h * 8;
    const { mask } = applyRescale(new Float32Array(3 * side * side), 3, side, h, {
      scale: Math.round(side * 0.7),
      top: 1,
      left: 2,
    });
    expect(mask.some((m) => m === 0) && mask.some((m) => m === 1)).toBe(true);
    const maskedWeights = itemLossWeights(
      Array.from({ length: batch }, (_, b) => ({
        ids: [],
        latents: new Float32Array(0),
        ...(b === 0 ? { mask } : {}),
      })),
      cells,
    );
    const train = await open(weighted, 'train');
    const out = await train.run(feedsAt(weighted, point, maskedWeights), [
      'loss',
      ...trainables.map((t) => t.gradient),
    ]);
    await train.release();
    const grads = trainables.map((t) => out[t.gradient]?.data as Float32Array);
    expect(grads.every((g) => g instanceof Float32Array && g.every(Number.isFinite))).toBe(true);
    // The same point's gradient without the mask: a backward pass that ignored the mask would give this one.
    const plainTrain = await open(weighted, 'train');
    const unmaskedOut = await plainTrain.run(
      feedsAt(weighted, point, ones),
      trainables.map((t) => t.gradient),
    );
    await plainTrain.release();
    const unmasked = trainables.map((t) => unmaskedOut[t.gradient]?.data as Float32Array);
    const loss = (p: readonly Float32Array[]) => lossOf(weightedFwd, feedsAt(weighted, p, maskedWeights));
    expect(Number(out.loss?.data[0])).toBeCloseTo(await loss(point), 6);
    // Directional derivatives along seeded directions over every trainable at once, then over K/V only. The step
    // is large enough that float32 rounding of the loss stays far below the derivative (1e-2 left ~3% noise;
    // 0.3 measured 1.1e-3 against the analytic gradient, 0.84 for the unmasked one).
    const dirRng = Rng.forStream(11, 'directions');
    const along = (g: readonly Float32Array[], dirs: readonly Float32Array[], norm: number) =>
      g.reduce((a, gr, j) => a + gr.reduce((s, v, i) => s + (v * dirs[j]![i]!) / norm, 0), 0);
    const analytic: number[] = [];
    const analyticUnmasked: number[] = [];
    const numeric: number[] = [];
    const eps = 0.3;
    for (let k = 0; k < 4; k++) {
      const dirs = point.map((p, j) =>
        k >= 2 && j === 0 ? new Float32Array(p.length) : dirRng.normal(p.length),
      );
      const norm = Math.sqrt(dirs.reduce((a, d) => a + d.reduce((s, v) => s + v * v, 0), 0));
      const shifted = (sign: number) =>
        point.map((p, j) => p.map((v, i) => v + (sign * eps * dirs[j]![i]!) / norm));
      numeric.push(((await loss(shifted(1))) - (await loss(shifted(-1)))) / (2 * eps));
      analytic.push(along(grads, dirs, norm));
      analyticUnmasked.push(along(unmasked, dirs, norm));
    }
    expect(relativeError(analytic, numeric)).toBeLessThan(3e-3);
    // Not vacuous: the unmasked gradient misses the masked loss's derivatives by far more than that.
    expect(relativeError(analyticUnmasked, numeric)).toBeGreaterThan(2e-2);
    await plainFwd.release();
    await weightedFwd.release();
  }, 300_000);
});
