// Quality of a learned token, the way the DVAR paper scores it with CLIP, on this project's own parts: the
// attribute classifier's features stand in for CLIP image features. Identity (the CLIP-I analogue): mean cosine
// similarity between samples of "<token>" prompts and the concept's images. Prompt alignment (the CLIP-T
// analogue): prompts that put the token on a named background; a sample counts as aligned when its border
// (the background: objects keep a margin) is closest in colour to that background's prototype.
import {
  type AttributeClassifier,
  cosineSimilarity,
  FEATURE_SIZE,
} from '../../models/src/classifier/classifier.ts';
import {
  type LearnedToken,
  openPipelineSampler,
  type PipelineSampler,
} from '../../models/src/sampler/pipeline-sampler.ts';
import {
  BACKGROUNDS,
  type Background,
  IMAGE_SIZE,
  renderScene,
  sampleScene,
} from '../../models/src/world/world.ts';
import type { PixelImage } from '../../trainer-image/src/train/batches.ts';
import { Rng } from '../../trainer-image/src/train/rng.ts';

export interface QualityScore {
  /** Mean feature cosine similarity of identity-prompt samples to the concept images (higher is better). */
  readonly identity: number;
  /** Share of new-context samples whose background matches the prompt, in [0, 1]. */
  readonly alignment: number;
  /** Identity of the new-context samples: is the concept kept when placed elsewhere. */
  readonly contextIdentity: number;
  /** Wall time of the scoring, ms. */
  readonly ms: number;
}

export interface QualityOptions {
  readonly pipelineDir: string;
  readonly classifier: AttributeClassifier;
  /** How many identity prompts (object templates, cycled) and new-context prompts per background. */
  readonly identityPrompts: number;
  readonly contextPerBackground: number;
  readonly samplerSteps: number;
  readonly guidance: number;
  readonly seed: number;
  readonly threads: number;
  /**
   * Open the sampler once, on the first call, and keep it: its feeds hold the first call's row and tensors by
   * reference, so every later call must pass the same buffers, updated in place (the benchmark copies each
   * step's weights into one buffer). Saves rebuilding the method's UNet surgery and sessions for every score.
   */
  readonly reuseSampler?: boolean;
  /** How the prompts name the concept (TrainingMethod.promptSubject); absent = the token alone. */
  readonly subject?: string;
}

export type ConceptScorer = ((
  row: Float32Array,
  which?: 'full' | 'identity',
  unet?: LearnedToken['unet'],
) => Promise<QualityScore>) & {
  /** Releases a kept sampler (reuseSampler); a no-op otherwise. */
  release(): Promise<void>;
};

const IDENTITY_TEMPLATES = [
  'a photo of a {}',
  'a rendering of a {}',
  'a close-up photo of the {}',
  'a good photo of a {}',
  'a photo of the small {}',
  'a bright photo of the {}',
  'a cropped photo of a {}',
  'a photo of one {}',
];

export function identityPrompts(token: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    IDENTITY_TEMPLATES[i % IDENTITY_TEMPLATES.length]!.replace('{}', token),
  );
}

export function contextPrompts(
  token: string,
  perBackground: number,
): { prompt: string; background: Background }[] {
  return BACKGROUNDS.flatMap((background) =>
    Array.from({ length: perBackground }, () => ({
      prompt: `a photo of a ${token} on ${background}`,
      background,
    })),
  );
}

/** Mean RGB (in [−1, 1]) of the two outermost pixel rings of a CHW image. */
export function borderColour(chw: Float32Array, offset = 0): [number, number, number] {
  const plane = IMAGE_SIZE * IMAGE_SIZE;
  const sum: [number, number, number] = [0, 0, 0];
  let count = 0;
  for (let y = 0; y < IMAGE_SIZE; y++) {
    for (let x = 0; x < IMAGE_SIZE; x++) {
      if (x > 1 && y > 1 && x < IMAGE_SIZE - 2 && y < IMAGE_SIZE - 2) continue;
      for (let c = 0; c < 3; c++)
        sum[c] = (sum[c] ?? 0) + (chw[offset + c * plane + y * IMAGE_SIZE + x] ?? 0);
      count++;
    }
  }
  return [sum[0] / count, sum[1] / count, sum[2] / count];
}

/** Each background's mean border colour over rendered world scenes (random objects), from a fixed seed. */
export function backgroundPrototypes(perBackground = 24): Map<Background, [number, number, number]> {
  const rng = Rng.forStream(1, 'bench-dvar-backgrounds');
  const prototypes = new Map<Background, [number, number, number]>();
  for (const background of BACKGROUNDS) {
    const total: [number, number, number] = [0, 0, 0];
    for (let i = 0; i < perBackground; i++) {
      const rgb = renderScene(sampleScene(rng, undefined, background));
      const chw = new Float32Array(3 * IMAGE_SIZE * IMAGE_SIZE);
      for (let p = 0; p < IMAGE_SIZE * IMAGE_SIZE; p++)
        for (let c = 0; c < 3; c++) chw[c * IMAGE_SIZE * IMAGE_SIZE + p] = (rgb[p * 3 + c] ?? 0) / 127.5 - 1;
      const colour = borderColour(chw);
      for (let c = 0; c < 3; c++) total[c] = (total[c] ?? 0) + colour[c]! / perBackground;
    }
    prototypes.set(background, total);
  }
  return prototypes;
}

export function nearestBackground(
  colour: readonly [number, number, number],
  prototypes: ReadonlyMap<Background, readonly [number, number, number]>,
): Background {
  let best: Background = BACKGROUNDS[0];
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const [background, p] of prototypes) {
    const d = (colour[0] - p[0]) ** 2 + (colour[1] - p[1]) ** 2 + (colour[2] - p[2]) ** 2;
    if (d < bestDistance) {
      bestDistance = d;
      best = background;
    }
  }
  return best;
}

function stack(images: readonly PixelImage[]): Float32Array {
  const per = images[0]?.data.length ?? 0;
  const out = new Float32Array(images.length * per);
  images.forEach((image, i) => {
    out.set(image.data, i * per);
  });
  return out;
}

function meanSimilarity(samples: Float32Array, n: number, concept: Float32Array, m: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const a = samples.subarray(i * FEATURE_SIZE, (i + 1) * FEATURE_SIZE);
    for (let j = 0; j < m; j++)
      total += cosineSimilarity(a, concept.subarray(j * FEATURE_SIZE, (j + 1) * FEATURE_SIZE));
  }
  return total / (n * m);
}

/** A scorer for one concept: the concept's features are computed once, every row is sampled with the same noise. */
export async function conceptScorer(
  token: string,
  conceptImages: readonly PixelImage[],
  o: QualityOptions,
): Promise<ConceptScorer> {
  const concept = (await o.classifier.classify(stack(conceptImages), conceptImages.length)).features;
  const prototypes = backgroundPrototypes();
  const subject = o.subject ?? token;
  const ids = identityPrompts(subject, o.identityPrompts);
  const contexts = contextPrompts(subject, o.contextPerBackground);
  // `unet`: a method's trained UNet tensors (LoRA), applied as in training; absent for textual inversion.
  let kept: { sampler: PipelineSampler; row: Float32Array } | undefined;
  const score = async (
    row: Float32Array,
    which: 'full' | 'identity' = 'full',
    unet?: LearnedToken['unet'],
  ): Promise<QualityScore> => {
    const started = performance.now();
    if (kept && kept.row !== row) throw new Error('a reused sampler must be given the same row buffer');
    const sampler =
      kept?.sampler ??
      (await openPipelineSampler(o.pipelineDir, {
        learned: { token, rows: row, ...(unet ? { unet } : {}) },
        threads: o.threads,
      }));
    if (o.reuseSampler) kept ??= { sampler, row };
    try {
      const prompts = which === 'full' ? [...ids, ...contexts.map((c) => c.prompt)] : ids;
      const images = await sampler.sample(prompts, {
        seed: o.seed,
        steps: o.samplerSteps,
        guidance: o.guidance,
      });
      const features = (await o.classifier.classify(images, prompts.length)).features;
      const identity = meanSimilarity(features, ids.length, concept, conceptImages.length);
      if (which === 'identity') {
        return {
          identity,
          alignment: Number.NaN,
          contextIdentity: Number.NaN,
          ms: performance.now() - started,
        };
      }
      const per = 3 * IMAGE_SIZE * IMAGE_SIZE;
      let aligned = 0;
      contexts.forEach((c, i) => {
        const colour = borderColour(images, (ids.length + i) * per);
        if (nearestBackground(colour, prototypes) === c.background) aligned++;
      });
      const contextIdentity = meanSimilarity(
        features.subarray(ids.length * FEATURE_SIZE),
        contexts.length,
        concept,
        conceptImages.length,
      );
      return {
        identity,
        alignment: aligned / contexts.length,
        contextIdentity,
        ms: performance.now() - started,
      };
    } finally {
      if (!o.reuseSampler) await sampler.release();
    }
  };
  return Object.assign(score, {
    async release() {
      await kept?.sampler.release();
      kept = undefined;
    },
  });
}
