// Squeeze: y removes unit axes (axes an input from opset 13, an attribute before),
// a relabelling of elements, so dx = reshape(dy, shape(x)).
import type { GradRule } from '../grad-rule.ts';
import { requireGo, reshapeLike } from './helpers.ts';

export const squeezeGrad: GradRule = {
  opType: 'Squeeze',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (g.needs(0)) reshapeLike(g, requireGo(g), g.i(0), g.gi(0));
  },
};
