// Reshape: y = reshape(x, shape), a relabelling of elements, so dx = reshape(dy, shape(x)). The shape input has
// no gradient.
import type { GradRule } from '../grad-rule.ts';
import { requireGo, reshapeLike } from './helpers.ts';

export const reshapeGrad: GradRule = {
  opType: 'Reshape',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (g.needs(0)) reshapeLike(g, requireGo(g), g.i(0), g.gi(0));
  },
};
