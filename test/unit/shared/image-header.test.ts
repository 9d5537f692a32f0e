// Image headers read without decoding, on files made with sharp: the size of PNG, JPEG (baseline, progressive,
// with EXIF and trailing bytes) and WebP (VP8, VP8L, VP8X); bombs, cut-off files and non-images are refused.
import sharp from 'sharp';
import { ImageHeaderError, MAX_IMAGE_PIXELS, readImageHeader } from '../../../shared/image-header.ts';
import { pngBomb } from '../../support/png-bomb.ts';

function image(width: number, height: number, channels: 3 | 4 = 3) {
  return sharp({ create: { width, height, channels, background: { r: 200, g: 10, b: 10, alpha: 0.5 } } });
}

/** Reads a buffer the way submit reads an object (ranged), counting the bytes asked for. */
function header(bytes: Uint8Array) {
  const reads: [number, number][] = [];
  const result = readImageHeader(bytes.length, async (start, end) => {
    reads.push([start, end]);
    return bytes.subarray(start, end + 1);
  });
  return { result, reads };
}

test('PNG, JPEG and WebP sizes come from their headers', async () => {
  expect(await header(await image(300, 200).png().toBuffer()).result).toEqual({
    type: 'png',
    width: 300,
    height: 200,
  });
  const jpegs = [
    await image(123, 45).jpeg().toBuffer(),
    await image(123, 45).jpeg({ progressive: true }).toBuffer(),
    await image(123, 45).jpeg().withMetadata({ orientation: 6 }).toBuffer(),
  ];
  for (const jpeg of jpegs)
    expect(await header(jpeg).result).toEqual({ type: 'jpeg', width: 123, height: 45 });
  // Bytes after the end-of-image marker (a Motion Photo's video) do not make a JPEG truncated.
  const motion = Buffer.concat([jpegs[0]!, Buffer.alloc(5000, 7)]);
  expect((await header(motion).result).width).toBe(123);
  for (const webp of [
    await image(301, 77).webp().toBuffer(),
    await image(301, 77).webp({ lossless: true }).toBuffer(),
    await image(301, 77, 4).webp().toBuffer(), // lossy with alpha: VP8X
  ]) {
    expect(await header(webp).result).toEqual({ type: 'webp', width: 301, height: 77 });
  }
});

test('a PNG costs two small reads, not the file', async () => {
  const png = await image(400, 400).png().toBuffer();
  const { result, reads } = header(png);
  await result;
  expect(reads).toEqual([
    [0, 63],
    [png.length - 12, png.length - 1],
  ]);
});

test('a decompression bomb is refused from its header', async () => {
  const bomb = pngBomb(100_000, 100_000);
  expect(bomb.length).toBeLessThan(1000);
  await expect(header(bomb).result).rejects.toThrow(
    `declares 100000×100000 = 10000000000 pixels; the limit is ${MAX_IMAGE_PIXELS}`,
  );
  // Exactly at the limit is allowed.
  await expect(header(pngBomb(MAX_IMAGE_PIXELS / 8192, 8192)).result).resolves.toMatchObject({
    width: 16384,
  });
});

test('cut-off files are refused as truncated, non-images as not images', async () => {
  const png = await image(64, 64).png().toBuffer();
  const jpeg = await image(64, 64).jpeg().toBuffer();
  const webp = await image(64, 64).webp().toBuffer();
  await expect(header(png.subarray(0, png.length - 20)).result).rejects.toThrow(
    /is truncated \(the PNG does not end/,
  );
  await expect(header(png.subarray(0, 20)).result).rejects.toThrow(/is truncated/);
  await expect(header(jpeg.subarray(0, jpeg.length - 2)).result).rejects.toThrow(
    'is truncated (the JPEG ends before its end-of-image marker)',
  );
  await expect(header(jpeg.subarray(0, 100)).result).rejects.toThrow(/is truncated/);
  await expect(header(webp.subarray(0, webp.length - 4)).result).rejects.toThrow(
    /is truncated \(the WebP says/,
  );
  for (const other of [
    await image(8, 8).gif().toBuffer(),
    new TextEncoder().encode('hello'),
    new Uint8Array(),
  ]) {
    await expect(header(other).result).rejects.toThrow(
      new ImageHeaderError('is not a PNG, JPEG or WebP file (checked by content)'),
    );
  }
});
