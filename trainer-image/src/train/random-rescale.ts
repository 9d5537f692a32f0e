// Custom Diffusion's augmentation (METHODS.md): each instance image is randomly zoomed out onto a blank canvas or
// zoomed in and cropped, the loss is masked to where the image lies (in latent cells, inset by one), and the
// caption gains a hint of the scale. Pure: the draws come from the caller's RNG, the pixels are CHW floats.
import type { Rng } from './rng.ts';

/** Caption prefixes of the reference code: a small (far) image, and a zoomed-in one. */
export const RESCALE_HINTS = {
  far: ['a far away ', 'very small '],
  near: ['zoomed in ', 'close up '],
} as const;

/** One draw of the augmentation for a square image of side `size`. */
export interface RescaleDraw {
  /** Side of the resized image in pixels: [size/3, size] zooms out, [1.2·size, 1.4·size) zooms in. */
  readonly scale: number;
  /** Offset of the image on the canvas (zoom out) or of the crop in the image (zoom in), in pixels. */
  readonly top: number;
  readonly left: number;
  /** Caption prefix, as an index into RESCALE_HINTS' lists; absent = none (scales in [0.6·size, size]). */
  readonly hint?: { readonly kind: 'far' | 'near'; readonly index: number };
}

/**
 * The reference's draw: with probability 0.66 a side in [size/3, size] (integers, both ends in), else one in
 * [1.2·size, 1.4·size); then the offset, uniform over the positions that keep the image on the canvas (or the
 * crop inside the image); then the hint: "far" below 0.6·size, "near" above size, one of two phrasings each.
 */
export function drawRescale(rng: Rng, size: number): RescaleDraw {
  const low = Math.floor(size / 3);
  const zoomOut = rng.nextFloat() < 0.66;
  const scale = zoomOut
    ? low + rng.nextInt(size - low + 1)
    : Math.floor(1.2 * size) + rng.nextInt(Math.max(1, Math.floor(1.4 * size) - Math.floor(1.2 * size)));
  const room = Math.abs(scale - size) + 1;
  const top = rng.nextInt(room);
  const left = rng.nextInt(room);
  if (scale < 0.6 * size) return { scale, top, left, hint: { kind: 'far', index: rng.nextInt(2) } };
  if (scale > size) return { scale, top, left, hint: { kind: 'near', index: rng.nextInt(2) } };
  return { scale, top, left };
}

/** Separable resize of a [channels, h, w] tensor with a triangle (bilinear) filter widened when shrinking. */
export function resizeBilinear(
  chw: Float32Array,
  channels: number,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  if (chw.length !== channels * height * width) {
    throw new RangeError(`resizeBilinear: ${chw.length} values is not ${channels}×${height}×${width}`);
  }
  const rows = weightsFor(height, outHeight);
  const cols = weightsFor(width, outWidth);
  const mid = new Float32Array(channels * height * outWidth);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      const src = (c * height + y) * width;
      const dst = (c * height + y) * outWidth;
      for (let x = 0; x < outWidth; x++) {
        const { start, weights } = cols[x]!;
        let sum = 0;
        for (let k = 0; k < weights.length; k++) sum += chw[src + start + k]! * weights[k]!;
        mid[dst + x] = sum;
      }
    }
  }
  const out = new Float32Array(channels * outHeight * outWidth);
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < outHeight; y++) {
      const { start, weights } = rows[y]!;
      const dst = (c * outHeight + y) * outWidth;
      for (let x = 0; x < outWidth; x++) {
        let sum = 0;
        for (let k = 0; k < weights.length; k++) {
          sum += mid[(c * height + start + k) * outWidth + x]! * weights[k]!;
        }
        out[dst + x] = sum;
      }
    }
  }
  return out;
}

/**
 * Per output index: the first source index and normalized triangle weights. Output pixel i's centre maps to
 * (i + 0.5)·in/out − 0.5 in the source; when shrinking, the triangle's support grows by in/out (antialiasing, as
 * PIL's bilinear resize the reference code uses).
 */
function weightsFor(inSize: number, outSize: number): { start: number; weights: Float64Array }[] {
  const ratio = inSize / outSize;
  const support = Math.max(1, ratio);
  return Array.from({ length: outSize }, (_, i) => {
    const centre = (i + 0.5) * ratio - 0.5;
    const start = Math.max(0, Math.ceil(centre - support));
    const end = Math.min(inSize - 1, Math.floor(centre + support));
    const weights = new Float64Array(end - start + 1);
    let total = 0;
    for (let j = start; j <= end; j++) {
      const w = Math.max(0, 1 - Math.abs(j - centre) / support);
      weights[j - start] = w;
      total += w;
    }
    if (total === 0) {
      // Only at the very edge with a support of 1: the nearest source pixel.
      const nearest = Math.min(inSize - 1, Math.max(0, Math.round(centre)));
      return { start: nearest, weights: Float64Array.of(1) };
    }
    for (let k = 0; k < weights.length; k++) weights[k] = weights[k]! / total;
    return { start, weights };
  });
}

/** An augmented image and the latent cells its loss counts ([h·w], 1 inside, 0 outside). */
export interface Rescaled {
  readonly pixels: Float32Array;
  readonly mask: Float32Array;
}

/**
 * Applies one draw to a [channels, size, size] image (values in [-1, 1]; the blank canvas is 0, mid-grey, as the
 * reference's zero array). `latentSide` is the side of its latent (size / the VAE's downsampling factor f).
 * Zoom in: the whole latent counts. Zoom out: the cells of rows top/f + 1 … (top + scale)/f − 2 (integer
 * division) and the same for columns, the reference's inset by one cell against the blurred border; when that is
 * empty (tiny latents), the cells the image touches at all.
 */
export function applyRescale(
  image: Float32Array,
  channels: number,
  size: number,
  latentSide: number,
  draw: RescaleDraw,
): Rescaled {
  if (!Number.isInteger(latentSide) || latentSide < 1 || size % latentSide !== 0) {
    throw new RangeError(`applyRescale: latent side ${latentSide} does not divide the image side ${size}`);
  }
  const factor = size / latentSide;
  const { scale, top, left } = draw;
  const resized = resizeBilinear(image, channels, size, size, scale, scale);
  const pixels = new Float32Array(channels * size * size);
  const mask = new Float32Array(latentSide * latentSide);
  if (scale > size) {
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < size; y++) {
        const src = (c * scale + top + y) * scale + left;
        pixels.set(resized.subarray(src, src + size), (c * size + y) * size);
      }
    }
    mask.fill(1);
    return { pixels, mask };
  }
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < scale; y++) {
      const src = (c * scale + y) * scale;
      pixels.set(resized.subarray(src, src + scale), (c * size + top + y) * size + left);
    }
  }
  let [r0, r1] = [Math.floor(top / factor) + 1, Math.floor((top + scale) / factor) - 1];
  let [c0, c1] = [Math.floor(left / factor) + 1, Math.floor((left + scale) / factor) - 1];
  if (r1 <= r0 || c1 <= c0) {
    [r0, r1] = [Math.floor(top / factor), Math.ceil((top + scale) / factor)];
    [c0, c1] = [Math.floor(left / factor), Math.ceil((left + scale) / factor)];
  }
  for (let y = r0; y < r1; y++) mask.fill(1, y * latentSide + c0, y * latentSide + c1);
  return { pixels, mask };
}
