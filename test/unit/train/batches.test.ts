// TI batches: the latent cache (one sample per image and flip), the deterministic evaluation batch exactly as
// docs/dvar.md and its independence from the training stream, and training batches drawn from that stream.

import {
  type BatchSetup,
  batchSource,
  buildEvalBatch,
  buildLatentCache,
  flipHorizontal,
  type PixelImage,
  sampleTrainBatch,
  type VaeEncode,
} from '../../../trainer-image/src/train/batches.ts';
import { parseSchedulerConfig } from '../../../trainer-image/src/train/ddpm.ts';
import { Rng } from '../../../trainer-image/src/train/rng.ts';

const schedule = parseSchedulerConfig({
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  beta_end: 0.012,
});

/** 3×4×4 images with distinct content; a fake VAE whose mean is the 2×2 average-pooled pixels (C = 3). */
const images: PixelImage[] = [0, 1, 2].map((k) => ({
  channels: 3,
  height: 4,
  width: 4,
  data: Float32Array.from({ length: 48 }, (_, i) => Math.sin(i * (k + 1))),
}));
const encodeCalls: PixelImage[] = [];
const encode: VaeEncode = async (image) => {
  encodeCalls.push(image);
  const mean = new Float32Array(12);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 2; y++)
      for (let x = 0; x < 2; x++) {
        let s = 0;
        for (const [dy, dx] of [
          [0, 0],
          [0, 1],
          [1, 0],
          [1, 1],
        ] as const)
          s += image.data[(c * 4 + 2 * y + dy) * 4 + 2 * x + dx]!;
        mean[(c * 2 + y) * 2 + x] = s / 4;
      }
  const logvar = new Float32Array(12).fill(-4);
  const data = new Float32Array(24);
  data.set(mean);
  data.set(logvar, 12);
  return { data, dims: [1, 6, 2, 2] };
};

async function setup(seed = 59): Promise<BatchSetup> {
  const cache = await buildLatentCache(images, encode, { seed, scalingFactor: 0.5 });
  const promptIds = [0, 1, 2, 3, 4].map((t) => [100, t, 101, 102]);
  return { cache, schedule, promptIds, batchSize: 2, evalBatchSize: 4, seed };
}

describe('latent cache', () => {
  it('encodes each image and its mirror once and stores one scaled sample of each', async () => {
    encodeCalls.length = 0;
    const { cache } = await setup();
    expect(encodeCalls).toHaveLength(6);
    expect(encodeCalls[1]!.data).toEqual(flipHorizontal(images[0]!).data);
    expect(cache.latentShape).toEqual([3, 2, 2]);
    // sample = (mean + e^{-2}·ε)·0.5: close to mean/2, not equal to it.
    const [latent] = cache.latents[1]!;
    const mean = cache.posteriors[1]![0].mean;
    const gap = Math.max(...latent.map((x, i) => Math.abs(x - mean[i]! * 0.5)));
    expect(gap).toBeLessThan(0.5 * Math.exp(-2) * 5);
    expect(latent).not.toEqual(mean.map((m) => m * 0.5));
    expect((await setup()).cache.latents).toEqual(cache.latents);
  });

  it('flips left to right', () => {
    const flipped = flipHorizontal({ channels: 1, height: 1, width: 3, data: Float32Array.of(1, 2, 3) });
    expect([...flipped.data]).toEqual([3, 2, 1]);
  });
});

describe('evaluation batch', () => {
  it('takes image i mod n and template i mod T with distinct timesteps', async () => {
    const s = await setup();
    const batch = buildEvalBatch(s);
    expect(batch.size).toBe(4);
    expect(new Set(batch.timesteps).size).toBe(4);
    expect(batch.timesteps.every((t) => Number.isInteger(t) && t >= 0 && t < 1000)).toBe(true);
    expect(batch.inputIds).toEqual([100, 0, 101, 102, 100, 1, 101, 102, 100, 2, 101, 102, 100, 3, 101, 102]);
    // Item 3 uses image 0 again (3 mod 3); its latent is a sample around image 0's posterior mean (either view).
    const item3 = batch.latents.slice(36, 48);
    const near = (view: 0 | 1) =>
      item3.every(
        (x, i) => Math.abs(x - s.cache.posteriors[0]![view].mean[i]! * 0.5) < 0.5 * Math.exp(-2) * 5,
      );
    expect(near(0) || near(1)).toBe(true);
  });

  it('is the same however much the training stream has been used', async () => {
    const s = await setup();
    const rng = Rng.forStream(59, 'train');
    const before = rng.state();
    const evalA = batchSource(s).eval;
    expect(rng.state()).toEqual(before);
    for (let i = 0; i < 5; i++) sampleTrainBatch(s, rng);
    expect(batchSource(s).eval).toEqual(evalA);
    expect(buildEvalBatch(await setup(60))).not.toEqual(evalA);
  });

  it('rejects an evaluation batch larger than the timestep range', async () => {
    const s = await setup();
    expect(() => buildEvalBatch({ ...s, evalBatchSize: 1001 })).toThrow(/evalBatchSize/);
  });
});

describe('training batches', () => {
  it('are reproducible from the training stream state and differ step to step', async () => {
    const s = await setup();
    const rng = Rng.forStream(59, 'train');
    const first = sampleTrainBatch(s, rng);
    const saved = rng.state();
    const second = sampleTrainBatch(s, rng);
    expect(sampleTrainBatch(s, Rng.fromState(saved))).toEqual(second);
    expect(second.noise).not.toEqual(first.noise);
    expect(first.size).toBe(2);
    expect(first.noise).toHaveLength(24);
    expect(first.target).toEqual(first.noise);
    // Each item's latent is one of the cached samples.
    const cached = s.cache.latents.flatMap((pair) => [...pair]);
    for (let b = 0; b < 2; b++) {
      const latent = first.latents.slice(b * 12, b * 12 + 12);
      expect(cached.some((c) => c.every((x, i) => x === latent[i]))).toBe(true);
    }
  });

  it('with a prior: batchSize class items after the instance ones; the eval batch is unchanged', async () => {
    const s = await setup();
    const classCache = await buildLatentCache([images[2]!, images[0]!], encode, {
      seed: 59,
      scalingFactor: 0.5,
      stream: 'class-latents',
    });
    const withPrior: BatchSetup = { ...s, prior: { cache: classCache, promptIds: [100, 7, 7, 102] } };
    const plain = sampleTrainBatch(s, Rng.forStream(59, 'train'));
    const batch = sampleTrainBatch(withPrior, Rng.forStream(59, 'train'));
    expect(batch.size).toBe(4);
    expect(batch.inputIds.slice(8)).toEqual([100, 7, 7, 102, 100, 7, 7, 102]);
    // The instance half is drawn exactly as without a prior (same images, templates and flips).
    expect(batch.latents.slice(0, 24)).toEqual(plain.latents);
    expect(batch.inputIds.slice(0, 8)).toEqual(plain.inputIds);
    const cached = classCache.latents.flatMap((pair) => [...pair]);
    for (let b = 2; b < 4; b++) {
      const latent = batch.latents.slice(b * 12, b * 12 + 12);
      expect(cached.some((c) => c.every((x, i) => x === latent[i]))).toBe(true);
    }
    expect(buildEvalBatch(withPrior)).toEqual(buildEvalBatch(s));
  });
});

describe('random rescale (Custom Diffusion)', () => {
  /** 3×12×12 images; the fake VAE average-pools 2×2 (latent 3×6×6), logvar −4. */
  const big: PixelImage[] = [0, 1].map((k) => ({
    channels: 3,
    height: 12,
    width: 12,
    data: Float32Array.from({ length: 3 * 144 }, (_, i) => Math.sin(i * (k + 1) * 0.3)),
  }));
  const encoded: PixelImage[] = [];
  const pool: VaeEncode = async (image) => {
    encoded.push(image);
    const side = image.height / 2;
    const data = new Float32Array(2 * 3 * side * side).fill(-4);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++) {
          let s = 0;
          for (const [dy, dx] of [
            [0, 0],
            [0, 1],
            [1, 0],
            [1, 1],
          ] as const)
            s += image.data[(c * image.height + 2 * y + dy) * image.width + 2 * x + dx]!;
          data[(c * side + y) * side + x] = s / 4;
        }
    return { data, dims: [1, 6, side, side] };
  };
  const hinted = {
    'far.0': [[100, 50, 1, 102]],
    'far.1': [[100, 51, 1, 102]],
    'near.0': [[100, 52, 1, 102]],
    'near.1': [[100, 53, 1, 102]],
  };
  async function rescaleSetup(priorWeight?: number): Promise<BatchSetup> {
    const cache = await buildLatentCache(big, pool, { seed: 59, scalingFactor: 0.5 });
    const classCache = await buildLatentCache([big[1]!], pool, {
      seed: 59,
      scalingFactor: 0.5,
      stream: 'class-latents',
    });
    return {
      cache,
      schedule,
      promptIds: [[100, 9, 1, 102]],
      batchSize: 3,
      evalBatchSize: 2,
      seed: 59,
      lossWeights: { prior: priorWeight ?? 1 },
      rescale: { images: big, encode: pool, hintedPromptIds: hinted },
      ...(priorWeight === undefined ? {} : { prior: { cache: classCache, promptIds: [100, 7, 7, 102] } }),
    };
  }

  it('re-encodes each augmented instance item, masks its loss, and replays from the same stream state', async () => {
    const s = await rescaleSetup();
    const source = batchSource(s);
    const rng = Rng.forStream(59, 'train');
    const batches = [];
    encoded.length = 0;
    for (let i = 0; i < 6; i++) batches.push(await source.train(rng));
    expect(encoded).toHaveLength(18); // 3 instance items × 6 batches, nothing cached
    const saved = rng.state();
    const next = await source.train(rng);
    expect(await source.train(Rng.fromState(saved))).toEqual(next);

    let masked = 0;
    let hints = 0;
    for (const b of [...batches, next]) {
      const weights = b.lossWeights!;
      expect(weights).toHaveLength(3 * 36);
      for (let item = 0; item < 3; item++) {
        const w = weights.slice(item * 36, item * 36 + 36);
        // Normalized per item: the weights of its cells sum to the cell count (its masked mean, weight 1).
        expect(w.reduce((a, v) => a + v, 0)).toBeCloseTo(36, 4);
        if (w.some((v) => v === 0)) masked += 1;
        const ids = b.inputIds.slice(item * 4, item * 4 + 4);
        if (ids[1] !== 9) {
          hints += 1;
          expect(Object.values(hinted).map((h) => h[0])).toContainEqual(ids);
        }
      }
    }
    // Over 21 items about 2/3 zoom out (masked); the odds that none or all of them do are negligible.
    expect(masked).toBeGreaterThan(3);
    expect(masked).toBeLessThan(21);
    expect(hints).toBeGreaterThan(0);
  });

  it('never augments the evaluation batch or the class items; class items carry the prior weight', async () => {
    const s = await rescaleSetup(0.25);
    const { rescale: _, lossWeights: __, ...plainSetup } = s;
    const evalBatch = batchSource(s).eval;
    expect({ ...evalBatch, lossWeights: undefined }).toEqual({
      ...buildEvalBatch(plainSetup),
      lossWeights: undefined,
    });
    expect(evalBatch.lossWeights?.every((w) => w === 1)).toBe(true);
    const batch = await batchSource(s).train(Rng.forStream(59, 'train'));
    expect(batch.size).toBe(6);
    const cached = s.prior!.cache.latents.flatMap((pair) => [...pair]);
    const per = 3 * 36;
    for (let b = 3; b < 6; b++) {
      const latent = batch.latents.slice(b * per, (b + 1) * per);
      expect(cached.some((c) => c.every((x, i) => x === latent[i]))).toBe(true);
      expect(batch.lossWeights!.slice(b * 36, (b + 1) * 36).every((w) => w === 0.25)).toBe(true);
      expect(batch.inputIds.slice(b * 4, b * 4 + 4)).toEqual([100, 7, 7, 102]);
    }
  });

  it('refuses a rescale without loss weights', async () => {
    const { lossWeights: _, ...s } = await rescaleSetup();
    expect(() => batchSource(s)).toThrow(/loss weights/);
  });
});
