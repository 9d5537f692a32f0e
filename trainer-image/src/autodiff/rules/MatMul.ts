// MatMul (numpy semantics): Y = A·B, so dA = dY·Bᵀ and dB = Aᵀ·dY over the last two axes, summed over broadcast
// batch axes. A 1-D A is a row [1,K] and a 1-D B a column [K,1] whose unit axis the output drops, so dY gets that
// axis back before the products and the results lose it again.
import type { GradRule } from '../grad-rule.ts';
import { requireGo, squeeze, transposeLast2, unsqueeze } from './helpers.ts';

export const matMulGrad: GradRule = {
  opType: 'MatMul',
  build: (g) => {
    const go = requireGo(g);
    const a = g.i(0);
    const b = g.i(1);
    const ra = g.rank(a);
    const rb = g.rank(b);
    if (ra === 1 && rb === 1) {
      // y = Σ a_k b_k (a scalar): da = dy·b, db = dy·a.
      if (g.needs(0)) g.emit('Mul', [go, b], {}, [g.gi(0)]);
      if (g.needs(1)) g.emit('Mul', [go, a], {}, [g.gi(1)]);
      return;
    }
    if (ra === 1) {
      // a as [1,K]: dY' = dY[...,1,N]; da' = dY'·Bᵀ is [...,1,K] → sum batch axes, drop the row axis.
      const go2 = unsqueeze(g, go, [-2]);
      if (g.needs(0)) {
        const da = g.emit('MatMul', [go2, transposeLast2(g, b, rb)]);
        g.unbroadcast(squeeze(g, da, [-2]), a, g.gi(0));
      }
      if (g.needs(1)) {
        const aCol = unsqueeze(g, a, [1]);
        g.unbroadcast(g.emit('MatMul', [aCol, go2]), b, g.gi(1));
      }
      return;
    }
    if (rb === 1) {
      // b as [K,1]: dY' = dY[...,M,1]; dA = dY'·[1,K]; db' = Aᵀ·dY' is [...,K,1] → drop the column, sum batch axes.
      const go2 = unsqueeze(g, go, [-1]);
      if (g.needs(0)) {
        const bRow = unsqueeze(g, b, [0]);
        g.unbroadcast(g.emit('MatMul', [go2, bRow]), a, g.gi(0));
      }
      if (g.needs(1)) {
        const db = g.emit('MatMul', [transposeLast2(g, a, ra), go2]);
        g.unbroadcast(squeeze(g, db, [-1]), b, g.gi(1));
      }
      return;
    }
    // A product already shaped like its input needs no unbroadcast: dA when B has no batch axes (or the same
    // ones as A), dB when A has none (or the same ones as B). Skipping it spares run-time shape checks.
    const batchA = g.dims(a).slice(0, -2);
    const batchB = g.dims(b).slice(0, -2);
    const sameBatch = ra === rb && batchA.every((d, i) => d !== undefined && d === batchB[i]);
    if (g.needs(0)) {
      const product = g.emit(
        'MatMul',
        [go, transposeLast2(g, b, rb)],
        {},
        rb === 2 || sameBatch ? [g.gi(0)] : undefined,
      );
      if (rb !== 2 && !sameBatch) g.unbroadcast(product, a, g.gi(0));
    }
    if (g.needs(1)) {
      const product = g.emit(
        'MatMul',
        [transposeLast2(g, a, ra), go],
        {},
        ra === 2 || sameBatch ? [g.gi(1)] : undefined,
      );
      if (ra !== 2 && !sameBatch) g.unbroadcast(product, b, g.gi(1));
    }
  },
};
