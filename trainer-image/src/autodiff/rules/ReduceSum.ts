// ReduceSum: y = Σ x over axes (axes an input from opset 13, an attribute before; none = all), so dx = dy with the
// reduced axes restored and broadcast to x's shape. The axes input has no gradient.
import type { GradRule } from '../grad-rule.ts';
import { expandReduced } from './helpers.ts';

export const reduceSumGrad: GradRule = {
  opType: 'ReduceSum',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (g.needs(0)) expandReduced(g, g.opset >= 13, g.gi(0));
  },
};
