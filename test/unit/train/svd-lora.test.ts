// SVD-extracted LoRA: a delta of rank ≤ r comes back exactly; for a known spectrum the reported relative error is
// the Eckart–Young optimum sqrt(Σ_{i>r} σᵢ²) / sqrt(Σ σᵢ²).
import { extractLora } from '../../../trainer-image/src/train/svd-lora.ts';
import { mulberry32 } from '../../support/mulberry32.ts';

/** Orthonormal columns [n, k] from a seeded Gram–Schmidt. */
function orthonormal(n: number, k: number, seed: number): Float64Array {
  const rand = mulberry32(seed);
  const m = Float64Array.from({ length: n * k }, () => rand() - 0.5);
  for (let j = 0; j < k; j++) {
    for (let p = 0; p < j; p++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += m[i * k + j]! * m[i * k + p]!;
      for (let i = 0; i < n; i++) m[i * k + j] = m[i * k + j]! - dot * m[i * k + p]!;
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += m[i * k + j]! ** 2;
    for (let i = 0; i < n; i++) m[i * k + j] = m[i * k + j]! / Math.sqrt(norm);
  }
  return m;
}

/** U·diag(σ)·Vᵀ for a [out, in] matrix. */
function withSpectrum(out: number, inF: number, sigma: readonly number[]): Float32Array {
  const k = sigma.length;
  const u = orthonormal(out, k, 1);
  const v = orthonormal(inF, k, 2);
  const m = new Float32Array(out * inF);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += u[o * k + j]! * sigma[j]! * v[i * k + j]!;
      m[o * inF + i] = s;
    }
  }
  return m;
}

describe('extractLora', () => {
  it('recovers a rank-3 delta exactly at rank 4', () => {
    const delta = withSpectrum(40, 24, [3, 2, 0.5]);
    const lora = extractLora(delta, 40, 24, 4);
    expect(lora.relativeError).toBeLessThan(1e-6);
    expect(lora.up).toHaveLength(40 * 4);
    expect(lora.down).toHaveLength(4 * 24);
  });

  it('reports the Eckart–Young error for a known spectrum', () => {
    const sigma = Array.from({ length: 20 }, (_, i) => 0.8 ** i);
    const delta = withSpectrum(64, 32, sigma);
    const lora = extractLora(delta, 64, 32, 4);
    const tail = sigma.slice(4).reduce((s, x) => s + x * x, 0);
    const all = sigma.reduce((s, x) => s + x * x, 0);
    expect(lora.relativeError).toBeCloseTo(Math.sqrt(tail / all), 4);
  });

  it('stays exact when the rank asked for exceeds the delta’s (dependent directions are dropped, not blown up)', () => {
    // A 16 × 32 delta of rank 2 at rank 16: k = 16 sampled directions, 14 of them numerically dependent.
    const delta = withSpectrum(16, 32, [1, 1e-3]);
    expect(extractLora(delta, 16, 32, 16).relativeError).toBeLessThan(1e-6);
    const sign = delta.map((v) => Math.sign(v));
    expect(extractLora(sign, 16, 32, 16).relativeError).toBeLessThan(1e-6);
  });

  it('is deterministic and handles a zero delta', () => {
    const delta = withSpectrum(16, 16, [1, 0.5, 0.25, 0.1, 0.05]);
    expect(extractLora(delta, 16, 16, 2).up).toEqual(extractLora(delta, 16, 16, 2).up);
    expect(extractLora(new Float32Array(12), 3, 4, 2).relativeError).toBe(0);
  });
});
