// Softmax: y = e^x / Σ e^x over the axis, so dx = y·(dy − Σ dy·y) with the sum over the same axes (keepdims).
// From opset 13 the axis is one axis (default −1); before, the input is coerced to 2-D at `axis` (default 1),
// so the sum runs over every axis from `axis` on.
import type { GradRule } from '../grad-rule.ts';
import { normAxis, reduceSum, requireGo } from './helpers.ts';

export const softmaxGrad: GradRule = {
  opType: 'Softmax',
  build: (g) => {
    if (!g.needs(0)) return;
    const y = g.o(0);
    const rank = g.rank(y);
    const legacy = g.opset < 13;
    const axis = normAxis(g.attrInt('axis', legacy ? 1 : -1), rank);
    const axes = legacy ? Array.from({ length: rank - axis }, (_, i) => axis + i) : [axis];
    const dyY = g.emit('Mul', [requireGo(g), y]);
    const sum = reduceSum(g, dyY, axes, true);
    g.emit('Sub', [dyY, g.emit('Mul', [y, sum])], {}, [g.gi(0)]);
  },
};
