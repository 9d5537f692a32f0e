// Training images: PNG, JPEG or WebP (checked by content) decoded with sharp, EXIF orientation applied,
// center-cropped to a square and resized to the model's resolution, as CHW float32 in [-1, 1] plus the
// horizontal flip. A bad image fails with its file name and the reason, before any training starts.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { isHiddenFile } from '../../../shared/hidden-files.ts';
import { MAX_IMAGE_PIXELS } from '../../../shared/image-header.ts';
import { type ImageType, sniffImageType } from '../../../shared/image-type.ts';

export interface TrainingImage {
  /** File name (no folder), for messages and the eval batch order. */
  readonly name: string;
  readonly type: ImageType;
  /** Size after EXIF orientation, before cropping. */
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** Side of the square output. */
  readonly resolution: number;
  /** [3, resolution, resolution], RGB, (v / 127.5) − 1. */
  readonly pixels: Float32Array;
  /** The same, mirrored left–right (the random flip of the DVAR code). */
  readonly flipped: Float32Array;
}

/** An image that cannot be used, with the file and the reason. */
export class ImageInputError extends Error {
  override readonly name = 'ImageInputError';
  readonly file: string;
  constructor(file: string, reason: string) {
    super(`${file}: ${reason}`);
    this.file = file;
  }
}

/**
 * The shortest side an image may have: half the target resolution. Upscaling more than 2× gives the model a
 * blurry concept to learn; a fixed 64 px floor would reject every image for small test models (32 px).
 */
export function minImageSide(resolution: number): number {
  return Math.ceil(resolution / 2);
}

/** Mirrors a [channels, height, width] tensor left–right. */
export function flipHorizontal(
  chw: Float32Array,
  channels: number,
  height: number,
  width: number,
): Float32Array {
  if (chw.length !== channels * height * width) {
    throw new RangeError(`flipHorizontal: ${chw.length} values is not ${channels}×${height}×${width}`);
  }
  const out = new Float32Array(chw.length);
  for (let row = 0; row < channels * height; row++) {
    const base = row * width;
    for (let x = 0; x < width; x++) out[base + x] = chw[base + width - 1 - x]!;
  }
  return out;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message.replace(/\s+/g, ' ').trim() : String(error);
}

/**
 * Decodes one image from its bytes. Transparency is flattened onto white (a cut-out subject on a white
 * background, rather than whatever colour the transparent pixels happen to store); grey and CMYK become sRGB;
 * 16-bit images become 8-bit. Crop: the centered square of side min(w, h), then a bicubic resize (as the
 * diffusers textual inversion script does).
 */
export async function decodeTrainingImage(
  bytes: Uint8Array,
  name: string,
  resolution: number,
): Promise<TrainingImage> {
  if (!Number.isInteger(resolution) || resolution < 1) {
    throw new RangeError(`resolution must be a positive integer (got ${resolution})`);
  }
  const type = sniffImageType(bytes);
  if (type === undefined) {
    throw new ImageInputError(name, 'not a PNG, JPEG or WebP image (by its content)');
  }
  // failOn 'warning': truncated or damaged pixel data is an error, never a half-grey training image. The pixel
  // limit is submit's (shared/image-header.ts): a decompression bomb fails from its header, before any decode.
  const input = () =>
    sharp(bytes, { failOn: 'warning', autoOrient: true, limitInputPixels: MAX_IMAGE_PIXELS });
  let width: number;
  let height: number;
  try {
    const meta = await input().metadata();
    ({ width, height } = meta.autoOrient);
  } catch (error) {
    throw new ImageInputError(name, `cannot read this ${type.toUpperCase()} image (${describe(error)})`);
  }
  const side = Math.min(width, height);
  const minSide = minImageSide(resolution);
  if (side < minSide) {
    throw new ImageInputError(
      name,
      `too small: ${width}×${height}, the shorter side must be at least ${minSide} px for resolution ${resolution}`,
    );
  }
  let data: Buffer;
  let channels: number;
  try {
    const result = await input()
      .extract({
        left: Math.floor((width - side) / 2),
        top: Math.floor((height - side) / 2),
        width: side,
        height: side,
      })
      .resize(resolution, resolution, { kernel: 'cubic' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    data = result.data;
    channels = result.info.channels;
    if (result.info.width !== resolution || result.info.height !== resolution) {
      throw new Error(
        `decoded to ${result.info.width}×${result.info.height}, expected ${resolution}×${resolution}`,
      );
    }
  } catch (error) {
    throw new ImageInputError(name, `cannot decode this ${type.toUpperCase()} image (${describe(error)})`);
  }
  if (channels !== 3) throw new ImageInputError(name, `decoded to ${channels} channels, expected RGB`);

  const plane = resolution * resolution;
  const pixels = new Float32Array(3 * plane);
  // Interleaved HWC bytes → planar CHW, [0, 255] → [-1, 1].
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) pixels[c * plane + i] = data[i * 3 + c]! / 127.5 - 1;
  }
  return {
    name,
    type,
    sourceWidth: width,
    sourceHeight: height,
    resolution,
    pixels,
    flipped: flipHorizontal(pixels, 3, resolution, resolution),
  };
}

/** Reads and decodes one image file; errors name the file path. */
export async function loadTrainingImage(path: string, resolution: number): Promise<TrainingImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ImageInputError(path, code === 'ENOENT' ? 'no such file' : `unreadable (${describe(error)})`);
  }
  const image = await decodeTrainingImage(bytes, path, resolution);
  return { ...image, name: path.split(/[\\/]/).pop() ?? path };
}

/**
 * Every image in a folder, sorted by name (so the deterministic eval batch is the same on every machine).
 * Hidden files (shared/hidden-files.ts: dotfiles, Thumbs.db, …) are ignored; any other file must be a usable image.
 */
export async function loadTrainingImages(dir: string, resolution: number): Promise<TrainingImage[]> {
  let entries: { name: string; isFile(): boolean }[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new ImageInputError(
      dir,
      code === 'ENOENT' ? 'no such folder' : `unreadable folder (${describe(error)})`,
    );
  }
  const names = entries
    .filter((e) => e.isFile() && !isHiddenFile(e.name))
    .map((e) => e.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (names.length === 0) throw new ImageInputError(dir, 'no images in this folder');
  const images: TrainingImage[] = [];
  // One at a time: bounded memory for large uploads, and the first bad file is the one reported.
  for (const name of names) images.push(await loadTrainingImage(join(dir, name), resolution));
  return images;
}
