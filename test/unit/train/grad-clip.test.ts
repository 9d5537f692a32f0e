// clipGradNorm: torch's clip_grad_norm_ over one packed gradient (scale by maxNorm / (‖g‖ + 1e-6) when above the
// bound, untouched otherwise), and the loop applies it before AdamW only when asked.
import { clipGradNorm } from '../../../trainer-image/src/train/grad-clip.ts';

describe('clipGradNorm', () => {
  it('scales a gradient above the bound to the bound and returns the norm before', () => {
    const g = Float32Array.from([3, 4]);
    expect(clipGradNorm(g, 1)).toBe(5);
    const coef = Math.fround(1 / (5 + 1e-6));
    expect(Array.from(g)).toEqual([Math.fround(3 * coef), Math.fround(4 * coef)]);
    expect(Math.hypot(g[0]!, g[1]!)).toBeCloseTo(1, 6);
  });

  it('leaves a gradient within the bound bit for bit', () => {
    const g = Float32Array.from([0.3, -0.4]);
    const before = Float32Array.from(g);
    expect(clipGradNorm(g, 1)).toBeCloseTo(0.5, 7);
    expect(g).toEqual(before);
  });

  it('refuses a non-positive bound', () => {
    expect(() => clipGradNorm(new Float32Array(2), 0)).toThrow(/positive/);
  });
});
