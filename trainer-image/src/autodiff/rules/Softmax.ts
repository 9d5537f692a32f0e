// Softmax: y = e^x / Σ e^x over the axis, so dx = y·(dy − Σ dy·y) with the sum over the same axes (keepdims).
// From opset 13 the axis is one axis (default −1); before, the input is coerced to 2-D at `axis` (default 1),
// so the sum runs over every axis from `axis` on. Attention (y over the last axis read only by O = y·V): then
// dy = dO·Vᵀ and Σⱼ dyᵢⱼ·yᵢⱼ = Σ_d dOᵢ_d·Oᵢ_d (the FlashAttention backward identity), a sum over the small
// [.., T, d] tensors, so dx = (dy − s)·y takes two passes over the [.., T, T] scores instead of four. The
// subtraction then goes into the product that makes dy: dy − s = dO·Vᵀ − s·1ᵀ = [dO | s]·[V | −1]ᵀ, one MatMul
// with an inner size d + 1 instead of d, so the scores-sized dy is never written apart from dy − s (the
// consumer's own dy product, left unread, is pruned). SDPA exports put a guard between: P = Where(IsNaN(y), 0, y)
// feeds the MatMul (PyTorch's _safe_softmax: a fully masked row is NaN, then 0). Then dy = Where(IsNaN(y), 0, dP),
// so Σ dy·y = Σ dP·P = Σ dO·O still, and dx = P·(dP − s): equal to y·(dy − s) wherever y is a number, and 0 on a
// guarded row, which is the derivative of the guarded function (constant 0 there) as PyTorch gives it, where
// y·(dy − s) would be NaN and poison every gradient upstream. The backward then reads P only, not y. The general
// form behind the guard likewise uses P for y.
import type { ConsumerView, GradContext, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { normAxis, reduceSum, requireGo, transposeLast2 } from './helpers.ts';

/**
 * SDPA's NaN guard Where(IsNaN(y), 0, y) when it (with its IsNaN) is all that reads y, else undefined. Behind it
 * the rule multiplies by the guarded P instead of y: the same wherever y is a number, 0 instead of NaN on a guarded
 * row (the derivative of the guarded function, which is constant there).
 */
function nanGuard(g: GradContext): ConsumerView | undefined {
  const readers = g.consumers?.(0);
  if (readers?.length !== 2) return undefined;
  const isNan = readers.find((r) => r.opType === 'IsNaN');
  const where = readers.find((r) => r.opType === 'Where');
  const mask = isNan?.outputs[0];
  if (!mask || where?.inputIndex !== 2 || where.inputs[0] !== mask) return undefined;
  if (isNan?.consumers(0)?.length !== 1) return undefined;
  const fill = g.constValue(where.inputs[1] ?? '');
  if (!fill || Array.from(fill.values as ArrayLike<number | bigint>).some((v) => Number(v) !== 0))
    return undefined;
  return where;
}

/** The MatMul(P, V) reading y (P = y) or its guarded P; else undefined. */
function attentionProduct(g: GradContext, guard: ConsumerView | undefined): ConsumerView | undefined {
  const reader = guard ? guard.soleConsumer(0) : g.soleConsumer?.(0);
  return reader?.opType === 'MatMul' && reader.inputIndex === 0 ? reader : undefined;
}

/**
 * When y is attention's probabilities with O's rows: dy − Σ dy·y (the row sums from dO·O) and the probabilities
 * the MatMul read (y, or the guarded P) to multiply it by; else undefined.
 */
function attentionDyMinusRowSum(
  g: GradContext,
  y: string,
  rank: number,
  guard: ConsumerView | undefined,
): { shifted: string; probs: string } | undefined {
  const consumer = attentionProduct(g, guard);
  const probs = consumer?.inputs[0];
  if (!consumer || !probs || rank < 2) return undefined;
  const out = consumer.outputs[0];
  const dOut = consumer.go(0);
  if (!out || dOut === undefined || g.rank(out) !== rank) return undefined;
  // The identity sums O's row i over d; it holds per row of y only when O has exactly y's rows (no batch axis
  // broadcast from V), so every leading dim must be known equal.
  const yDims = g.dims(y);
  const oDims = g.dims(out);
  const sameRows = yDims.slice(0, -1).every((d, i) => d !== undefined && d === oDims[i]);
  if (!sameRows) return undefined;
  const rowSum = reduceSum(g, g.emit('Mul', [dOut, out]), [rank - 1], true);
  const v = consumer.inputs[1];
  if (!v || g.opset < 11 || g.rank(v) < 2) return { shifted: g.emit('Sub', [requireGo(g), rowSum]), probs };
  const left = g.emit('Concat', [dOut, rowSum], { axis: attr.int(-1) });
  const rv = g.rank(v);
  // [V | −1]: V with a column of −1 (ConstantOfShape + Concat: onnxruntime's Pad is several times slower here).
  const vDims = g.dims(v);
  const colDims = [...vDims.slice(0, -1), 1];
  const colShape = colDims.every((d) => typeof d === 'number')
    ? g.int64s(colDims as number[])
    : g.emit(
        'Concat',
        [g.emit('Slice', [g.emit('Shape', [v]), g.int64s([0]), g.int64s([-1])]), g.int64s([1])],
        {
          axis: attr.int(0),
        },
      );
  const minusOnes = g.emit('ConstantOfShape', [colShape], {
    value: attr.tensor({ dataType: g.dataType(v), dims: [1], values: [-1] }),
  });
  const right = g.emit('Concat', [v, minusOnes], { axis: attr.int(-1) });
  return { shifted: g.emit('MatMul', [left, transposeLast2(g, right, rv)]), probs };
}

export const softmaxGrad: GradRule = {
  opType: 'Softmax',
  build: (g) => {
    if (!g.needs(0)) return;
    const y = g.o(0);
    const rank = g.rank(y);
    const legacy = g.opset < 13;
    const axis = normAxis(g.attrInt('axis', legacy ? 1 : -1), rank);
    const dy = requireGo(g);
    const guard = nanGuard(g);
    const attention = axis === rank - 1 ? attentionDyMinusRowSum(g, y, rank, guard) : undefined;
    if (attention !== undefined) {
      g.emit('Mul', [attention.shifted, attention.probs], {}, [g.gi(0)]);
      return;
    }
    const probs = guard?.outputs[0] ?? y;
    const axes = legacy ? Array.from({ length: rank - axis }, (_, i) => axis + i) : [axis];
    const dyY = g.emit('Mul', [dy, probs]);
    const sum = reduceSum(g, dyY, axes, true);
    g.emit('Sub', [dyY, g.emit('Mul', [probs, sum])], {}, [g.gi(0)]);
  },
};
