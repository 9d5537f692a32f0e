// Custom Diffusion's random rescale: the reference's draw (ranges, 0.66 zoom-out share, offsets, hints), the
// antialiased resize, where the image lands on the canvas and which latent cells the loss mask keeps.
import {
  applyRescale,
  drawRescale,
  resizeBilinear,
} from '../../../trainer-image/src/train/random-rescale.ts';
import { Rng } from '../../../trainer-image/src/train/rng.ts';

describe('drawRescale', () => {
  it('zooms out about 2/3 of the time into [size/3, size], else in into [1.2, 1.4)·size, with the hints', () => {
    const rng = Rng.forStream(59, 'test');
    const size = 512;
    let out = 0;
    const n = 3000;
    for (let i = 0; i < n; i++) {
      const d = drawRescale(rng, size);
      const zoomOut = d.scale <= size;
      if (zoomOut) {
        out += 1;
        expect(d.scale).toBeGreaterThanOrEqual(170);
      } else {
        expect(d.scale).toBeGreaterThanOrEqual(614);
        expect(d.scale).toBeLessThan(716);
      }
      expect(Number.isInteger(d.scale)).toBe(true);
      expect(d.top).toBeGreaterThanOrEqual(0);
      expect(d.top).toBeLessThanOrEqual(Math.abs(d.scale - size));
      expect(d.left).toBeLessThanOrEqual(Math.abs(d.scale - size));
      const kind = d.scale < 0.6 * size ? 'far' : d.scale > size ? 'near' : undefined;
      expect(d.hint?.kind).toBe(kind);
      if (d.hint) expect([0, 1]).toContain(d.hint.index);
    }
    expect(out / n).toBeGreaterThan(0.63);
    expect(out / n).toBeLessThan(0.69);
  });

  it('is a function of the generator state (what resume relies on)', () => {
    const a = Rng.forStream(7, 'train');
    for (let i = 0; i < 5; i++) drawRescale(a, 32);
    const saved = a.state();
    const next = drawRescale(a, 32);
    expect(drawRescale(Rng.fromState(saved), 32)).toEqual(next);
  });
});

describe('resizeBilinear', () => {
  it('keeps a constant image constant and is the identity at the same size', () => {
    const flat = new Float32Array(2 * 9 * 9).fill(0.25);
    for (const v of resizeBilinear(flat, 2, 9, 9, 4, 4)) expect(v).toBeCloseTo(0.25, 6);
    for (const v of resizeBilinear(flat, 2, 9, 9, 13, 13)) expect(v).toBeCloseTo(0.25, 6);
    const ramp = Float32Array.from({ length: 3 * 6 * 6 }, (_, i) => Math.sin(i));
    const same = resizeBilinear(ramp, 3, 6, 6, 6, 6);
    same.forEach((v, i) => {
      expect(v).toBeCloseTo(ramp[i]!, 6);
    });
  });

  it('averages when shrinking (a 2× shrink of stripes is their mean, not one of them)', () => {
    // Columns alternate 1, −1: a point-sampled shrink would keep one colour; the antialiased one averages.
    const stripes = Float32Array.from({ length: 8 * 8 }, (_, i) => (i % 2 === 0 ? 1 : -1));
    const small = resizeBilinear(stripes, 1, 8, 8, 4, 4);
    for (const v of small) expect(Math.abs(v)).toBeLessThan(0.5);
  });
});

describe('applyRescale', () => {
  const size = 32;
  const image = Float32Array.from({ length: 3 * size * size }, (_, i) => 0.5 + 0.4 * Math.sin(i * 0.1));

  it('zoom out: the resized image at (top, left), the canvas 0 elsewhere, the mask inset by one cell', () => {
    const draw = { scale: 20, top: 3, left: 9 };
    const { pixels, mask } = applyRescale(image, 3, size, 8, draw); // f = 4
    const resized = resizeBilinear(image, 3, size, size, 20, 20);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const inside = y >= 3 && y < 23 && x >= 9 && x < 29;
          const v = pixels[(c * size + y) * size + x]!;
          if (inside) expect(v).toBe(resized[(c * 20 + y - 3) * 20 + x - 9]);
          else expect(v).toBe(0);
        }
      }
    }
    // Rows 3/4 + 1 = 1 … 23/4 − 1 = 4 (exclusive), columns 9/4 + 1 = 3 … 29/4 − 1 = 6 (exclusive).
    const expected = new Float32Array(64);
    for (let y = 1; y < 4; y++) for (let x = 3; x < 6; x++) expected[y * 8 + x] = 1;
    expect(mask).toEqual(expected);
  });

  it('zoom in: a crop of the enlarged image, every cell counted', () => {
    const draw = { scale: 40, top: 5, left: 2 };
    const { pixels, mask } = applyRescale(image, 3, size, 4, draw);
    const resized = resizeBilinear(image, 3, size, size, 40, 40);
    expect(pixels[(1 * size + 7) * size + 11]).toBe(resized[(1 * 40 + 12) * 40 + 13]);
    expect(mask.every((m) => m === 1)).toBe(true);
  });

  it('keeps the cells the image touches when the inset would leave none (tiny latents)', () => {
    const { mask } = applyRescale(image, 3, size, 4, { scale: 11, top: 2, left: 20 }); // f = 8
    // Rows 2/8 = 0 … ceil(13/8) = 2, columns 20/8 = 2 … ceil(31/8) = 4.
    const expected = new Float32Array(16);
    for (let y = 0; y < 2; y++) for (let x = 2; x < 4; x++) expected[y * 4 + x] = 1;
    expect(mask).toEqual(expected);
  });
});
