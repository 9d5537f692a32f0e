// Class images for prior preservation: the job's uploaded ones first, the rest generated with the base model from
// the class prompt (as diffusers' DreamBooth does), in seeded chunks cached as PNGs in the job's store, so a resumed
// run decodes the same images instead of drawing them again.
import type { ArtifactStore } from '../../../shared/ports.ts';
import type { PixelImage } from './batches.ts';
import { decodeTrainingImage } from './images.ts';
import { encodePng, type RgbImage } from './sampler.ts';

/** Draws `count` images for `prompt` from one seed with the pipeline's base model (no learned token). */
export type GenerateImages = (
  pipelineDir: string,
  prompt: string,
  count: number,
  seed: number,
) => Promise<RgbImage[]>;

export interface ClassImagesRequest {
  readonly prompt: string;
  /** How many class images the run wants in all (uploaded + generated). */
  readonly count: number;
  readonly seed: number;
  /** Side of the square training images (generated ones are decoded and resized like uploads). */
  readonly resolution: number;
  readonly uploaded: readonly PixelImage[];
}

export interface ClassImagesResult {
  readonly images: PixelImage[];
  /** Generated in this run (0 when every one came from the cache or an upload). */
  readonly generated: number;
  readonly cached: number;
  readonly seconds: number;
}

/** Generated class images are cached under this prefix of the job's store, one PNG each. */
export const CLASS_IMAGE_PREFIX = 'class-images/';
/** Images per generation call: each chunk has its own seed, so a partly cached set regenerates whole chunks only. */
export const CLASS_IMAGE_CHUNK = 8;

const keyOf = (index: number): string => `${CLASS_IMAGE_PREFIX}${String(index).padStart(4, '0')}.png`;

export async function prepareClassImages(
  request: ClassImagesRequest,
  deps: {
    readonly store: ArtifactStore;
    /** Draws `count` images of `prompt` from `seed`. */
    readonly generate: (prompt: string, count: number, seed: number) => Promise<RgbImage[]>;
    readonly onProgress?: (done: number, total: number) => void;
    readonly clock?: () => number;
  },
): Promise<ClassImagesResult> {
  const clock = deps.clock ?? Date.now;
  const started = clock();
  const wanted = Math.max(0, request.count - request.uploaded.length);
  const images: PixelImage[] = request.uploaded.slice(0, request.count);
  let generated = 0;
  let cached = 0;
  // Listed once, and only listed keys are read: in AWS a read of a missing key is AccessDenied, not NoSuchKey, for
  // a role that may list only some prefixes of the bucket (infra/constructs/access.ts).
  const stored = new Set(wanted > 0 ? await deps.store.list(CLASS_IMAGE_PREFIX) : []);
  for (let start = 0; start < wanted; start += CLASS_IMAGE_CHUNK) {
    const size = Math.min(CLASS_IMAGE_CHUNK, wanted - start);
    const keys = Array.from({ length: size }, (_, i) => keyOf(start + i));
    let bodies = keys.every((key) => stored.has(key))
      ? await Promise.all(keys.map((key) => deps.store.get(key)))
      : [];
    if (bodies.length === 0 || bodies.some((b) => b === undefined)) {
      // Seed per chunk (not per run position) so the same chunk is the same images on every attempt.
      const drawn = await deps.generate(
        request.prompt,
        size,
        request.seed + 7919 * (start / CLASS_IMAGE_CHUNK + 1),
      );
      if (drawn.length !== size)
        throw new Error(`class image generation gave ${drawn.length} of ${size} images`);
      bodies = await Promise.all(drawn.map((image) => encodePng(image)));
      for (const [i, body] of bodies.entries()) await deps.store.put(keys[i]!, body!, 'image/png');
      generated += size;
    } else cached += size;
    for (const [i, body] of bodies.entries()) {
      const image = await decodeTrainingImage(body!, keys[i]!, request.resolution);
      images.push({ data: image.pixels, channels: 3, height: image.resolution, width: image.resolution });
    }
    deps.onProgress?.(start + size, wanted);
  }
  return { images, generated, cached, seconds: (clock() - started) / 1000 };
}
