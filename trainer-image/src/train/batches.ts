// Batches for textual inversion. VAE posteriors are computed once per image and flip; each (image, flip) gets
// one latent sample × scaling_factor from its own stream (the "latents" cache). Training batches draw image,
// template, flip, timestep and noise from the training stream; the deterministic evaluation batch
// (docs/dvar.md) is built once from the "eval" stream, so evaluating never moves the training randomness.
import { type DdpmSchedule, noiseAndTarget } from './ddpm.ts';
import type { BatchSource } from './objective.ts';
import { applyRescale, drawRescale, type RescaleDraw } from './random-rescale.ts';
import { Rng } from './rng.ts';

/** Pixels of one image, CHW in [-1, 1]. */
export interface PixelImage {
  readonly data: Float32Array;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** The VAE encoder: pixels [1, 3, H, W] → latent_parameters [1, 2C, h, w] (mean ‖ logvar). */
export type VaeEncode = (image: PixelImage) => Promise<{ data: Float32Array; dims: readonly number[] }>;

export interface Posterior {
  readonly mean: Float32Array;
  readonly logvar: Float32Array;
}

export interface LatentCache {
  /** [C, h, w] of one latent. */
  readonly latentShape: readonly [number, number, number];
  readonly images: number;
  /** Indexed [image][flip ? 1 : 0]. */
  readonly posteriors: readonly (readonly [Posterior, Posterior])[];
  /** One fixed posterior sample × scaling factor per image and flip, same indexing. */
  readonly latents: readonly (readonly [Float32Array, Float32Array])[];
  readonly scalingFactor: number;
}

/** Mirror an image left to right. */
export function flipHorizontal(image: PixelImage): PixelImage {
  const { channels, height, width, data } = image;
  const out = new Float32Array(data.length);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const row = (c * height + y) * width;
      for (let x = 0; x < width; x++) out[row + x] = data[row + width - 1 - x]!;
    }
  }
  return { ...image, data: out };
}

/** (mean + exp(logvar / 2)·ε) × scaling factor, with diffusers' clamp of logvar to [−30, 20]. */
export function samplePosterior(posterior: Posterior, rng: Rng, scalingFactor: number): Float32Array {
  const eps = rng.normal(posterior.mean.length);
  return posterior.mean.map((mu, i) => {
    const logvar = Math.min(20, Math.max(-30, posterior.logvar[i]!));
    return (mu + Math.exp(0.5 * logvar) * eps[i]!) * scalingFactor;
  });
}

export async function buildLatentCache(
  images: readonly PixelImage[],
  encode: VaeEncode,
  options: { readonly seed: number; readonly scalingFactor: number; readonly stream?: string },
): Promise<LatentCache> {
  if (images.length === 0) throw new Error('no training images');
  // Class images draw their latents from their own stream, so the instance latents are the same with or without.
  const rng = Rng.forStream(options.seed, options.stream ?? 'latents');
  const posteriors: [Posterior, Posterior][] = [];
  const latents: [Float32Array, Float32Array][] = [];
  let latentShape: [number, number, number] | undefined;
  for (const image of images) {
    const pair: Posterior[] = [];
    for (const view of [image, flipHorizontal(image)]) {
      const { data, dims } = await encode(view);
      const [batch, twoC, h, w] = dims;
      if (dims.length !== 4 || batch !== 1 || twoC === undefined || twoC % 2 !== 0 || !h || !w) {
        throw new Error(
          `VAE encoder returned latent_parameters of shape [${dims.join(', ')}], expected [1, 2C, h, w]`,
        );
      }
      const shape: [number, number, number] = [twoC / 2, h, w];
      if (latentShape && latentShape.join() !== shape.join()) {
        throw new Error(
          'training images encode to latents of different shapes; resize them to one resolution',
        );
      }
      latentShape = shape;
      const half = data.length / 2;
      pair.push({ mean: data.slice(0, half), logvar: data.slice(half) });
    }
    const both: [Posterior, Posterior] = [pair[0]!, pair[1]!];
    posteriors.push(both);
    latents.push([
      samplePosterior(both[0], rng, options.scalingFactor),
      samplePosterior(both[1], rng, options.scalingFactor),
    ]);
  }
  return {
    latentShape: latentShape!,
    images: images.length,
    posteriors,
    latents,
    scalingFactor: options.scalingFactor,
  };
}

/** One batch of the TI objective; arrays are batch-major and flat. */
export interface TrainBatch {
  readonly size: number;
  /** [B, L] token ids with the placeholder id in place of the token. */
  readonly inputIds: readonly number[];
  readonly sequenceLength: number;
  /** [C, h, w] of one latent. */
  readonly latentShape: readonly [number, number, number];
  readonly latents: Float32Array;
  readonly noise: Float32Array;
  readonly timesteps: readonly number[];
  readonly noisyLatents: Float32Array;
  readonly target: Float32Array;
  /**
   * [B, h·w] weights of each item's squared error per latent cell (broadcast over channels), present when the
   * setup asks for them (`lossWeights`): item b's cells are w_b · m · (h·w)/Σm for its mask m (1 everywhere but
   * for a zoomed-out image) and its weight w_b (1, or the prior loss weight for class items). The graph's mean
   * over every element of (error² × weight) is then the mean over items of w_b × the item's masked mean.
   */
  readonly lossWeights?: Float32Array;
}

/** Custom Diffusion's random rescale of the instance items (random-rescale.ts), re-encoded every step. */
export interface RescaleSetup {
  /** The instance images, unflipped, in the cache's order. */
  readonly images: readonly PixelImage[];
  readonly encode: VaeEncode;
  /**
   * Token ids of each template with a hint prefixed, by `<kind>.<index>` ("far.0" = RESCALE_HINTS.far[0]), in
   * template order; a hint missing here (words the tokenizer does not know) leaves the caption as it is.
   */
  readonly hintedPromptIds: Readonly<Record<string, readonly (readonly number[])[]>>;
}

export interface BatchSetup {
  readonly cache: LatentCache;
  readonly schedule: DdpmSchedule;
  /** Token ids of each template with the placeholder filled in, in template order. */
  readonly promptIds: readonly (readonly number[])[];
  readonly batchSize: number;
  readonly evalBatchSize: number;
  readonly seed: number;
  /**
   * Prior preservation (Custom Diffusion, DreamBooth): every training batch gains `batchSize` class items (a random
   * class image, flip, timestep and noise each) after the instance items, captioned with the class prompt. The
   * evaluation batch stays instance-only.
   */
  readonly prior?: { readonly cache: LatentCache; readonly promptIds: readonly number[] };
  /**
   * Batches carry `lossWeights`, class items weighted `prior` (the prior loss weight). Absent: no weights, the
   * graph's plain mean (and then neither rescale nor a prior weight other than 1 is possible).
   */
  readonly lossWeights?: { readonly prior: number };
  /** Random rescale of the instance items of training batches (never of the evaluation batch). */
  readonly rescale?: RescaleSetup;
}

interface Item {
  readonly ids: readonly number[];
  readonly latents: Float32Array;
  /** Latent cells the loss counts ([h·w]); absent = all. */
  readonly mask?: Float32Array;
  /** The item's loss weight; absent = 1. */
  readonly weight?: number;
}

/** [B, h·w] loss weights: w_b · m · (h·w)/Σm per item (see TrainBatch.lossWeights). */
export function itemLossWeights(items: readonly Item[], cells: number): Float32Array {
  const out = new Float32Array(items.length * cells);
  items.forEach((item, b) => {
    const w = item.weight ?? 1;
    const mask = item.mask;
    if (!mask) {
      out.fill(w, b * cells, (b + 1) * cells);
      return;
    }
    if (mask.length !== cells) throw new Error(`a loss mask has ${mask.length} cells, expected ${cells}`);
    const count = mask.reduce((s, m) => s + m, 0);
    if (!(count > 0)) throw new Error('a loss mask covers no latent cell');
    const scale = (w * cells) / count;
    for (let i = 0; i < cells; i++) out[b * cells + i] = mask[i]! * scale;
  });
  return out;
}

function assemble(
  setup: BatchSetup,
  items: readonly Item[],
  timesteps: readonly number[],
  noise: Float32Array,
): TrainBatch {
  const per = items[0]!.latents.length;
  const latents = new Float32Array(items.length * per);
  items.forEach((item, b) => {
    latents.set(item.latents, b * per);
  });
  const { noisy, target } = noiseAndTarget(setup.schedule, latents, noise, timesteps);
  const sequenceLength = setup.promptIds[0]!.length;
  const [, h, w] = setup.cache.latentShape;
  return {
    size: items.length,
    inputIds: items.flatMap((item) => item.ids),
    sequenceLength,
    latentShape: setup.cache.latentShape,
    latents,
    noise,
    timesteps,
    noisyLatents: noisy,
    target,
    ...(setup.lossWeights ? { lossWeights: itemLossWeights(items, h * w) } : {}),
  };
}

/**
 * The deterministic evaluation batch: item i uses image i mod n and template i mod T, a flip drawn once,
 * one latent sample from its posterior, one noise tensor, and distinct timesteps randperm(T_train)[:E] —
 * every draw from the "eval" stream.
 */
export function buildEvalBatch(setup: BatchSetup): TrainBatch {
  const { cache, schedule, evalBatchSize: size } = setup;
  if (!Number.isInteger(size) || size < 1 || size > schedule.numTrainTimesteps) {
    throw new Error(`evalBatchSize must be an integer in [1, ${schedule.numTrainTimesteps}], got ${size}`);
  }
  const rng = Rng.forStream(setup.seed, 'eval');
  const flips = Array.from({ length: size }, () => rng.nextFloat() < 0.5);
  const timesteps = rng.permutation(schedule.numTrainTimesteps).slice(0, size);
  const items = flips.map((flip, i) => ({
    ids: setup.promptIds[i % setup.promptIds.length]!,
    latents: samplePosterior(cache.posteriors[i % cache.images]![flip ? 1 : 0], rng, cache.scalingFactor),
  }));
  const noise = rng.normal(size * items[0]!.latents.length);
  return assemble(setup, items, timesteps, noise);
}

/** A training batch: per item a random image, template and flip, then timesteps, then noise. */
export function sampleTrainBatch(setup: BatchSetup, rng: Rng): TrainBatch {
  const { cache, schedule, batchSize } = setup;
  const items: Item[] = Array.from({ length: batchSize }, () => {
    const image = rng.nextInt(cache.images);
    const template = rng.nextInt(setup.promptIds.length);
    const flip = rng.nextFloat() < 0.5;
    return { ids: setup.promptIds[template]!, latents: cache.latents[image]![flip ? 1 : 0] };
  });
  // Class items are drawn after the instance items (and only with a prior), so a run without one is unchanged.
  items.push(...classItems(setup, rng));
  const timesteps = items.map(() => rng.nextInt(schedule.numTrainTimesteps));
  const noise = rng.normal(items.length * items[0]!.latents.length);
  return assemble(setup, items, timesteps, noise);
}

/** Class items after the instance items: a random class image and flip each, weighted by the prior weight. */
function classItems(setup: BatchSetup, rng: Rng): Item[] {
  const prior = setup.prior;
  if (!prior) return [];
  return Array.from({ length: setup.batchSize }, () => {
    const image = rng.nextInt(prior.cache.images);
    const flip = rng.nextFloat() < 0.5;
    return {
      ids: prior.promptIds,
      latents: prior.cache.latents[image]![flip ? 1 : 0],
      ...(setup.lossWeights ? { weight: setup.lossWeights.prior } : {}),
    };
  });
}

/**
 * A training batch with the instance items randomly rescaled: per instance item a random image, template, flip
 * and rescale draw; then the class items, timesteps and noise as sampleTrainBatch; then each augmented image is
 * encoded and one latent drawn from its posterior, in item order — every draw from the training stream, so a
 * resumed run (which restores that stream) augments exactly as the uninterrupted one.
 */
export async function sampleRescaledBatch(setup: BatchSetup, rng: Rng): Promise<TrainBatch> {
  const { cache, schedule, batchSize } = setup;
  const rescale = setup.rescale;
  if (!rescale) throw new Error('sampleRescaledBatch: the setup has no rescale');
  const [, h, w] = cache.latentShape;
  const drawn = Array.from({ length: batchSize }, () => {
    const image = rng.nextInt(cache.images);
    const template = rng.nextInt(setup.promptIds.length);
    const flip = rng.nextFloat() < 0.5;
    const source = rescale.images[image];
    if (!source) throw new Error(`rescale: no pixels for instance image ${image}`);
    return { source, template, flip, draw: drawRescale(rng, source.height) };
  });
  const instance = drawn.map(({ template, draw }) => ({ ids: promptOf(setup, rescale, template, draw) }));
  const classes = classItems(setup, rng);
  const timesteps = [...instance, ...classes].map(() => rng.nextInt(schedule.numTrainTimesteps));
  const noise = rng.normal((instance.length + classes.length) * cache.latentShape.reduce((a, b) => a * b, 1));
  const items: Item[] = [];
  for (const [b, { source, flip, draw }] of drawn.entries()) {
    if (source.height !== source.width) throw new Error('rescale needs square instance images');
    if (source.height % h !== 0 || h !== w) {
      throw new Error(`rescale: a ${source.height} px image does not map onto a ${h}×${w} latent grid`);
    }
    const pixels = flip ? flipHorizontal(source).data : source.data;
    const { pixels: augmented, mask } = applyRescale(pixels, source.channels, source.height, h, draw);
    const { data } = await rescale.encode({ ...source, data: augmented });
    const half = data.length / 2;
    if (half !== cache.latentShape.reduce((a, b) => a * b, 1)) {
      throw new Error('rescale: the augmented image encodes to a latent of another shape');
    }
    const posterior = { mean: data.subarray(0, half), logvar: data.subarray(half) };
    items.push({
      ids: instance[b]!.ids,
      latents: samplePosterior(posterior, rng, cache.scalingFactor),
      mask,
    });
  }
  return assemble(setup, [...items, ...classes], timesteps, noise);
}

/** The caption ids of `template` with the draw's hint, when the tokenizer knows the hint's words. */
function promptOf(
  setup: BatchSetup,
  rescale: RescaleSetup,
  template: number,
  draw: RescaleDraw,
): readonly number[] {
  const plain = setup.promptIds[template]!;
  if (!draw.hint) return plain;
  return rescale.hintedPromptIds[`${draw.hint.kind}.${draw.hint.index}`]?.[template] ?? plain;
}

export function batchSource(setup: BatchSetup): BatchSource<TrainBatch> {
  if (setup.promptIds.length === 0) throw new Error('no prompt templates');
  if (!Number.isInteger(setup.batchSize) || setup.batchSize < 1) {
    throw new Error(`batchSize must be a positive integer, got ${setup.batchSize}`);
  }
  const prior = setup.prior;
  if (prior && prior.cache.latentShape.join() !== setup.cache.latentShape.join()) {
    throw new Error('class images encode to latents of another shape than the instance images');
  }
  if (prior && prior.promptIds.length !== setup.promptIds[0]!.length) {
    throw new Error('the class prompt and the captions tokenize to different lengths');
  }
  if (setup.rescale && !setup.lossWeights) {
    throw new Error('random rescale masks the loss: the setup must ask for loss weights');
  }
  if (setup.rescale && setup.rescale.images.length !== setup.cache.images) {
    throw new Error('rescale: the instance images and the latent cache differ in number');
  }
  const rescale = setup.rescale;
  return {
    train: (rng) => (rescale ? sampleRescaledBatch(setup, rng) : sampleTrainBatch(setup, rng)),
    eval: buildEvalBatch(setup),
  };
}
