// Softmax: y = e^x / Σ e^x over the axis, so dx = y·(dy − Σ dy·y) with the sum over the same axes (keepdims).
// From opset 13 the axis is one axis (default −1); before, the input is coerced to 2-D at `axis` (default 1),
// so the sum runs over every axis from `axis` on. Attention (y over the last axis read only by O = y·V): then
// dy = dO·Vᵀ and Σⱼ dyᵢⱼ·yᵢⱼ = Σ_d dOᵢ_d·Oᵢ_d (the FlashAttention backward identity), a sum over the small
// [.., T, d] tensors, so dx = (dy − s)·y takes two passes over the [.., T, T] scores instead of four.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { normAxis, reduceSum, requireGo } from './helpers.ts';

/** Σ dO·O over the last axis (keepdims) when y's only reader is MatMul(y, V) with y's batch axes, else undefined. */
function attentionRowSum(g: GradContext, y: string, rank: number): string | undefined {
  const consumer = g.soleConsumer?.(0);
  if (consumer?.opType !== 'MatMul' || consumer.inputIndex !== 0 || rank < 2) return undefined;
  const out = consumer.outputs[0];
  const dOut = consumer.go(0);
  if (!out || dOut === undefined || g.rank(out) !== rank) return undefined;
  // The identity sums O's row i over d; it holds per row of y only when O has exactly y's rows (no batch axis
  // broadcast from V), so every leading dim must be known equal.
  const yDims = g.dims(y);
  const oDims = g.dims(out);
  const sameRows = yDims.slice(0, -1).every((d, i) => d !== undefined && d === oDims[i]);
  if (!sameRows) return undefined;
  return reduceSum(g, g.emit('Mul', [dOut, out]), [rank - 1], true);
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
    const rowSum = axis === rank - 1 ? attentionRowSum(g, y, rank) : undefined;
    if (rowSum !== undefined) {
      g.emit('Mul', [g.emit('Sub', [dy, rowSum]), y], {}, [g.gi(0)]);
      return;
    }
    const axes = legacy ? Array.from({ length: rank - axis }, (_, i) => axis + i) : [axis];
    const dyY = g.emit('Mul', [dy, y]);
    const sum = reduceSum(g, dyY, axes, true);
    g.emit('Sub', [dyY, g.emit('Mul', [y, sum])], {}, [g.gi(0)]);
  },
};
