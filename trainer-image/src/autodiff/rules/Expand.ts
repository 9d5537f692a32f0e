// Expand: y = broadcast(x, shape), so dx = dy summed over the broadcast axes. The shape input has no gradient.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const expandGrad: GradRule = {
  opType: 'Expand',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (g.needs(0)) g.unbroadcast(requireGo(g), g.i(0), g.gi(0));
  },
};
