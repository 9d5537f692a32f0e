// Image decoding on files made with sharp: PNG/JPEG/WebP, EXIF orientation, center crop and resize, [-1, 1]
// CHW with its flip, alpha and greyscale, and clear errors for corrupt, non-image and too-small files.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { MAX_IMAGE_PIXELS } from '../../../../shared/image-header.ts';
import {
  decodeTrainingImage,
  flipHorizontal,
  ImageInputError,
  loadTrainingImage,
  loadTrainingImages,
  minImageSide,
} from '../../../../trainer-image/src/train/images.ts';
import { pngBomb } from '../../../support/png-bomb.ts';

const RED = { r: 255, g: 0, b: 0 };
const BLUE = { r: 0, g: 0, b: 255 };

/** A w×h RGB image whose left (or top) part is `a` and the rest `b`, as raw bytes. */
function twoTone(w: number, h: number, split: 'vertical' | 'horizontal', a = RED, b = BLUE): Buffer {
  const buf = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const first = split === 'vertical' ? x < w / 2 : y < h / 2;
      const c = first ? a : b;
      buf.set([c.r, c.g, c.b], (y * w + x) * 3);
    }
  }
  return buf;
}

function raw(buf: Buffer, w: number, h: number, channels: 1 | 3 | 4 = 3) {
  return sharp(buf, { raw: { width: w, height: h, channels } });
}

/** The RGB value at (x, y) of a CHW tensor. */
function at(chw: Float32Array, res: number, x: number, y: number): number[] {
  return [0, 1, 2].map((c) => chw[c * res * res + y * res + x]!);
}

function expectColour(rgb: number[], expected: number[], tol = 0.05): void {
  rgb.forEach((v, i) => {
    expect(Math.abs(v - expected[i]!)).toBeLessThan(tol);
  });
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plateau-img-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('decodeTrainingImage', () => {
  it('center-crops a wide PNG to a square, resizes it, and maps pixels to [-1, 1] CHW', async () => {
    // 128×64: red | blue halves. The centered 64×64 square spans x 32..96: half red, half blue.
    const png = await raw(twoTone(128, 64, 'vertical'), 128, 64)
      .png()
      .toBuffer();
    const img = await decodeTrainingImage(png, 'wide.png', 32);
    expect(img.type).toBe('png');
    expect([img.sourceWidth, img.sourceHeight, img.resolution]).toEqual([128, 64, 32]);
    expect(img.pixels).toHaveLength(3 * 32 * 32);
    expectColour(at(img.pixels, 32, 2, 16), [1, -1, -1]);
    expectColour(at(img.pixels, 32, 29, 16), [-1, -1, 1]);
    expect(Math.max(...img.pixels)).toBeLessThanOrEqual(1);
    expect(Math.min(...img.pixels)).toBeGreaterThanOrEqual(-1);
    // The flip mirrors columns exactly.
    expect(at(img.flipped, 32, 2, 16)).toEqual(at(img.pixels, 32, 29, 16));
    expect(img.flipped).toEqual(flipHorizontal(img.pixels, 3, 32, 32));
    expect(flipHorizontal(img.flipped, 3, 32, 32)).toEqual(img.pixels);
  });

  it('applies the EXIF orientation before cropping (JPEG, orientation 6 = rotate 90° clockwise)', async () => {
    // Stored 64×128, red on top, blue below. Displayed (rotated 90° CW) it is 128×64 with the red on the right.
    const jpeg = await raw(twoTone(64, 128, 'horizontal'), 64, 128)
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const img = await decodeTrainingImage(jpeg, 'rotated.jpg', 32);
    expect(img.type).toBe('jpeg');
    expect([img.sourceWidth, img.sourceHeight]).toEqual([128, 64]);
    expectColour(at(img.pixels, 32, 2, 16), [-1, -1, 1], 0.1);
    expectColour(at(img.pixels, 32, 29, 16), [1, -1, -1], 0.1);
  });

  it('decodes WebP, flattens transparency onto white and turns greyscale into RGB', async () => {
    const webp = await raw(twoTone(64, 64, 'vertical'), 64, 64)
      .webp({ lossless: true })
      .toBuffer();
    const fromWebp = await decodeTrainingImage(webp, 'a.webp', 16);
    expect(fromWebp.type).toBe('webp');
    expectColour(at(fromWebp.pixels, 16, 0, 0), [1, -1, -1]);

    const rgba = Buffer.alloc(64 * 64 * 4); // fully transparent black
    const clear = await decodeTrainingImage(await raw(rgba, 64, 64, 4).png().toBuffer(), 'clear.png', 16);
    expectColour(at(clear.pixels, 16, 8, 8), [1, 1, 1]);

    const grey = await raw(Buffer.alloc(64 * 64, 0), 64, 64, 1)
      .png()
      .toBuffer();
    const fromGrey = await decodeTrainingImage(grey, 'grey.png', 16);
    expect(fromGrey.pixels).toHaveLength(3 * 16 * 16);
    expectColour(at(fromGrey.pixels, 16, 5, 5), [-1, -1, -1]);
  });

  it('rejects images whose shorter side is under half the resolution, naming the file', async () => {
    expect(minImageSide(512)).toBe(256);
    expect(minImageSide(33)).toBe(17);
    const small = await raw(twoTone(200, 15, 'vertical'), 200, 15)
      .png()
      .toBuffer();
    await expect(decodeTrainingImage(small, 'small.png', 32)).rejects.toThrow(
      'small.png: too small: 200×15, the shorter side must be at least 16 px for resolution 32',
    );
    await expect(decodeTrainingImage(small, 'ok.png', 30)).resolves.toBeDefined();
  });

  it('rejects non-images and corrupt images with the reason', async () => {
    await expect(decodeTrainingImage(new TextEncoder().encode('hello'), 'notes.txt', 32)).rejects.toThrow(
      'notes.txt: not a PNG, JPEG or WebP image (by its content)',
    );
    const gif = await raw(twoTone(64, 64, 'vertical'), 64, 64)
      .gif()
      .toBuffer();
    await expect(decodeTrainingImage(gif, 'anim.gif', 32)).rejects.toThrow(ImageInputError);
    const png = await raw(twoTone(64, 64, 'vertical'), 64, 64)
      .png()
      .toBuffer();
    await expect(decodeTrainingImage(png.subarray(0, 60), 'cut.png', 32)).rejects.toThrow(
      /^cut\.png: cannot (read|decode) this PNG image \(.+\)$/,
    );
    const jpeg = await raw(twoTone(64, 64, 'vertical'), 64, 64)
      .jpeg()
      .toBuffer();
    await expect(decodeTrainingImage(jpeg.subarray(0, jpeg.length / 2), 'half.jpg', 32)).rejects.toThrow(
      /^half\.jpg: cannot (read|decode) this JPEG image/,
    );
  });

  it("refuses a decompression bomb from its header with submit's pixel limit", async () => {
    // 100000 × 100000 declared in a file under 1 kB: sharp stops at the header instead of allocating 10 GB.
    await expect(decodeTrainingImage(pngBomb(100_000, 100_000), 'bomb.png', 32)).rejects.toThrow(
      /^bomb\.png: cannot read this PNG image \(Input image exceeds pixel limit\)$/,
    );
    // One row over MAX_IMAGE_PIXELS (and under sharp's own default limit): refused by the shared constant.
    expect(16384 * 8193).toBeGreaterThan(MAX_IMAGE_PIXELS);
    await expect(decodeTrainingImage(pngBomb(16384, 8193), 'tall.png', 32)).rejects.toThrow(
      /^tall\.png: cannot read this PNG image \(Input image exceeds pixel limit\)$/,
    );
  });
});

describe('loadTrainingImage(s)', () => {
  it('loads a folder in name order, skipping hidden files', async () => {
    const folder = join(dir, 'set');
    mkdirSync(folder);
    await raw(twoTone(64, 64, 'vertical', BLUE, BLUE), 64, 64)
      .png()
      .toFile(join(folder, 'b.png'));
    await raw(twoTone(64, 64, 'vertical', RED, RED), 64, 64)
      .jpeg()
      .toFile(join(folder, 'a.jpg'));
    writeFileSync(join(folder, '.DS_Store'), 'junk');
    writeFileSync(join(folder, 'Thumbs.db'), 'junk');
    const images = await loadTrainingImages(folder, 16);
    expect(images.map((i) => [i.name, i.type])).toEqual([
      ['a.jpg', 'jpeg'],
      ['b.png', 'png'],
    ]);
    expectColour(at(images[0]!.pixels, 16, 3, 3), [1, -1, -1], 0.05);
    expect((await loadTrainingImage(join(folder, 'b.png'), 16)).name).toBe('b.png');
  });

  it('fails for a missing file or folder, an empty folder, and a bad file inside a folder', async () => {
    await expect(loadTrainingImage(join(dir, 'nope.png'), 16)).rejects.toThrow(/nope\.png: no such file/);
    await expect(loadTrainingImages(join(dir, 'missing'), 16)).rejects.toThrow(/missing: no such folder/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await expect(loadTrainingImages(empty, 16)).rejects.toThrow(/empty: no images in this folder/);
    const mixed = join(dir, 'mixed');
    mkdirSync(mixed);
    await raw(twoTone(64, 64, 'vertical'), 64, 64)
      .png()
      .toFile(join(mixed, 'good.png'));
    writeFileSync(join(mixed, 'readme.txt'), 'not an image');
    await expect(loadTrainingImages(mixed, 16)).rejects.toThrow(
      /mixed\/readme\.txt: not a PNG, JPEG or WebP/,
    );
  });
});
