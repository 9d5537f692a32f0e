// MatMul (numpy semantics): Y = A·B, so dA = dY·Bᵀ and dB = Aᵀ·dY over the last two axes, summed over broadcast
// batch axes. A 1-D A is a row [1,K] and a 1-D B a column [K,1] whose unit axis the output drops, so dY gets that
// axis back before the products and the results lose it again.
// A gradient only a few columns wide with many rows (attention's dV = Pᵀ·dO and dQ = dS·K at head size 2: the
// T×T scores against [T, d]) is computed transposed, dVᵀ = dOᵀ·P and dQᵀ = Kᵀ·dSᵀ, then transposed back: the
// CPU GEMM tiles the output in panels several columns wide, so a [T, 2] output wastes most of each pass and
// re-reads the scores, while its [2, T] transpose streams them once (bench/gradcheck/op-profile.ts: about 3× on
// the tiny-sd15topo attention). The products and sums are the same; only the loop order differs.
// With frozenWeights 'reference', dA for a 2-D B (a Linear weight [K, N]) is one Gemm with transB = 1 on dY
// flattened to [M, N], reshaped back to A's shape: the weight is read as stored, so onnxruntime folds no
// transposed copy of it at session start (with Conv.ts, at SD size nearly a second copy of the UNet).
import type { Dim, GradContext, GradRule } from '../grad-rule.ts';
import { requireGo, squeeze, transposeLast2, unsqueeze } from './helpers.ts';

/** Output columns at most this many (and rows at least 4× as many) make the transposed product cheaper. */
const NARROW = 8;

/** Whether a gradient shaped [.., rows, cols] is better computed as its transpose. */
function narrow(g: GradContext, like: string): boolean {
  const dims = g.dims(like);
  const rows: Dim = dims[dims.length - 2];
  const cols: Dim = dims[dims.length - 1];
  return typeof cols === 'number' && cols <= NARROW && (typeof rows !== 'number' || rows >= 4 * cols);
}

/** Emits `left`·`right` (rank `rank`); when `transposed`, as (rightᵀ·leftᵀ)ᵀ with the given transposed operands. */
function product(
  g: GradContext,
  rank: number,
  operands: { left: string; right: string } | { leftT: string; rightT: string },
  out: readonly string[] | undefined,
): string {
  if ('left' in operands) return g.emit('MatMul', [operands.left, operands.right], {}, out);
  const t = g.emit('MatMul', [operands.rightT, operands.leftT]);
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return g.emit('Transpose', [t], { perm: { type: 'ints', value: perm } }, out);
}

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
    const rank = g.rank(go);
    const cols = g.dims(b)[1];
    if (
      g.needs(0) &&
      g.frozenWeights === 'reference' &&
      rb === 2 &&
      typeof cols === 'number' &&
      !narrow(g, a)
    ) {
      // dA = dY·Bᵀ with B as stored: Gemm(dY as [M, N], B, transB) → [M, K], then A's shape.
      if (rank === 2) g.emit('Gemm', [go, b], { transB: { type: 'int', value: 1 } }, [g.gi(0)]);
      else {
        const flat = g.emit('Reshape', [go, g.int64s([-1, cols])]);
        const product2d = g.emit('Gemm', [flat, b], { transB: { type: 'int', value: 1 } });
        g.emit('Reshape', [product2d, g.emit('Shape', [a])], {}, [g.gi(0)]);
      }
    } else if (g.needs(0)) {
      // dA = dY·Bᵀ, or (B·dYᵀ)ᵀ when dA is narrow.
      const operands = narrow(g, a)
        ? { leftT: transposeLast2(g, go, rank), rightT: b }
        : { left: go, right: transposeLast2(g, b, rb) };
      const direct = rb === 2 || sameBatch;
      const dA = product(g, rank, operands, direct ? [g.gi(0)] : undefined);
      if (!direct) g.unbroadcast(dA, a, g.gi(0));
    }
    if (g.needs(1)) {
      // dB = Aᵀ·dY, or (dYᵀ·A)ᵀ when dB is narrow.
      const operands = narrow(g, b)
        ? { leftT: a, rightT: transposeLast2(g, go, rank) }
        : { left: transposeLast2(g, a, ra), right: go };
      const direct = ra === 2 || sameBatch;
      const dB = product(g, rank, operands, direct ? [g.gi(1)] : undefined);
      if (!direct) g.unbroadcast(dB, b, g.gi(1));
    }
  },
};
