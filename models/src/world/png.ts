// PNG export of world images (examples, contact sheets) via sharp: single images and grids of HWC RGB bytes,
// enlarged with nearest-neighbour so the 32×32 pixels stay crisp.
import sharp from 'sharp';

/** One HWC RGB image as PNG bytes, `scale`× enlarged. */
export async function encodePng(rgb: Uint8Array, size: number, scale = 1): Promise<Buffer> {
  const img = sharp(Buffer.from(rgb), { raw: { width: size, height: size, channels: 3 } });
  return (scale === 1 ? img : img.resize(size * scale, size * scale, { kernel: 'nearest' })).png().toBuffer();
}

/** A grid of equally sized HWC RGB images (row-major, `cols` per row, 2-pixel gaps) as PNG bytes. */
export async function encodeGridPng(
  images: readonly Uint8Array[],
  size: number,
  cols: number,
  scale = 1,
): Promise<Buffer> {
  const gap = 2;
  const rows = Math.ceil(images.length / cols);
  const width = cols * size + (cols - 1) * gap;
  const height = rows * size + (rows - 1) * gap;
  const canvas = Buffer.alloc(width * height * 3, 255);
  images.forEach((img, k) => {
    const top = Math.floor(k / cols) * (size + gap);
    const left = (k % cols) * (size + gap);
    for (let y = 0; y < size; y++) {
      const from = y * size * 3;
      canvas.set(img.subarray(from, from + size * 3), ((top + y) * width + left) * 3);
    }
  });
  const img = sharp(canvas, { raw: { width, height, channels: 3 } });
  return (scale === 1 ? img : img.resize(width * scale, height * scale, { kernel: 'nearest' }))
    .png()
    .toBuffer();
}
