// Gemm: Y = α·A'·B' + β·C with A' = transA ? Aᵀ : A and B' = transB ? Bᵀ : B (C unidirectionally broadcast).
// dA' = α·dY·B'ᵀ and dB' = α·A'ᵀ·dY, transposed back when the input was: each is one Gemm with the right flags.
// dC = β·dY summed over the axes C was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const gemmGrad: GradRule = {
  opType: 'Gemm',
  build: (g) => {
    const go = requireGo(g);
    const a = g.i(0);
    const b = g.i(1);
    const alpha = g.attrFloat('alpha', 1);
    const beta = g.attrFloat('beta', 1);
    const transA = g.attrInt('transA', 0);
    const transB = g.attrInt('transB', 0);
    const gemm = (p: string, q: string, tp: number, tq: number, out: string): void => {
      const attrs = { alpha: attr.float(alpha), transA: attr.int(tp), transB: attr.int(tq) };
      g.emit('Gemm', [p, q], attrs, [out]);
    };
    if (g.needs(0)) {
      // transA = 0: dA = α·dY·B'ᵀ; transA = 1: dA = α·B'·dYᵀ.
      if (transA === 0) gemm(go, b, 0, 1 - transB, g.gi(0));
      else gemm(b, go, transB, 1, g.gi(0));
    }
    if (g.needs(1)) {
      // transB = 0: dB = α·A'ᵀ·dY; transB = 1: dB = α·dYᵀ·A'.
      if (transB === 0) gemm(a, go, 1 - transA, 0, g.gi(1));
      else gemm(go, a, 1, transA, g.gi(1));
    }
    const c = g.inputCount > 2 ? g.i(2) : '';
    if (c !== '' && g.needs(2)) {
      const scaled = beta === 1 ? go : g.emit('Mul', [go, g.scalarLike(beta, go)]);
      g.unbroadcast(scaled, c, g.gi(2));
    }
  },
};
