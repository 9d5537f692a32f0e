// LogSoftmax: y = x − log Σ e^x over the axis, so dx = dy − e^y·Σ dy with the sum over the same axes (keepdims);
// axis semantics as Softmax (one axis from opset 13, the coerced-2-D tail before).
import type { GradRule } from '../grad-rule.ts';
import { normAxis, reduceSum, requireGo } from './helpers.ts';

export const logSoftmaxGrad: GradRule = {
  opType: 'LogSoftmax',
  build: (g) => {
    if (!g.needs(0)) return;
    const y = g.o(0);
    const rank = g.rank(y);
    const legacy = g.opset < 13;
    const axis = normAxis(g.attrInt('axis', legacy ? 1 : -1), rank);
    const axes = legacy ? Array.from({ length: rank - axis }, (_, i) => axis + i) : [axis];
    const go = requireGo(g);
    const sum = reduceSum(g, go, axes, true);
    g.emit('Sub', [go, g.emit('Mul', [g.emit('Exp', [y]), sum])], {}, [g.gi(0)]);
  },
};
