// AdamW against steps computed by hand from torch.optim.AdamW's update rule.
import { ADAMW_DEFAULTS, adamwStep, initAdamW } from '../../../trainer-image/src/train/adamw.ts';

describe('adamwStep', () => {
  const config = { ...ADAMW_DEFAULTS, lr: 0.1 };

  it('matches the hand-computed first two steps', () => {
    const params = Float32Array.of(1, -2);
    const state = initAdamW(2);
    // Step 1, g = (0.5, -1): p ← p(1 − 0.1·0.01); m = 0.1g; v = 0.001g²; m̂ = g, v̂ = g²,
    // so p ← p·0.999 − 0.1 · g / (|g| + 1e-8) = (0.999 − 0.1, −1.998 + 0.1) up to ε.
    adamwStep(params, Float32Array.of(0.5, -1), state, config);
    expect(state.step).toBe(1);
    expect(params[0]).toBeCloseTo(0.899, 6);
    expect(params[1]).toBeCloseTo(-1.898, 6);
    expect(state.m[0]).toBeCloseTo(0.05, 7);
    expect(state.v[1]).toBeCloseTo(0.001, 9);

    // Step 2, g = (0.5, 1): m = 0.9·0.05 + 0.05 = 0.095, v = 0.999·0.00025 + 0.00025;
    // m̂ = m/(1 − 0.81), v̂ = v/(1 − 0.998001).
    const p0 = params[0]!;
    adamwStep(params, Float32Array.of(0.5, 1), state, config);
    const m = 0.9 * 0.05 + 0.1 * 0.5;
    const v = 0.999 * 0.00025 + 0.001 * 0.25;
    const expected = p0 * 0.999 - (0.1 * (m / 0.19)) / (Math.sqrt(v / (1 - 0.999 ** 2)) + 1e-8);
    expect(params[0]).toBeCloseTo(expected, 6);
    // Second element: m = 0.9·(−0.1) + 0.1 = 0.01, v = 0.999·0.001 + 0.001.
    const m1 = 0.9 * -0.1 + 0.1;
    const v1 = 0.999 * 0.001 + 0.001;
    expect(params[1]).toBeCloseTo(-1.898 * 0.999 - (0.1 * (m1 / 0.19)) / Math.sqrt(v1 / (1 - 0.999 ** 2)), 5);
  });

  it('decays the weights with a zero gradient (decoupled decay)', () => {
    const params = Float32Array.of(2);
    adamwStep(params, Float32Array.of(0), initAdamW(1), { ...config, lr: 0.5, weightDecay: 0.1 });
    expect(params[0]).toBeCloseTo(2 * (1 - 0.05), 6);
  });

  it('rejects non-finite gradients and size mismatches', () => {
    expect(() => adamwStep(Float32Array.of(1), Float32Array.of(Number.NaN), initAdamW(1), config)).toThrow(
      /not finite/,
    );
    expect(() => adamwStep(Float32Array.of(1, 2), Float32Array.of(1), initAdamW(2), config)).toThrow(/sizes/);
  });
});
