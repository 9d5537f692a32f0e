// Flatten: y reshapes to 2-D at `axis`,
// a relabelling of elements, so dx = reshape(dy, shape(x)).
import type { GradRule } from '../grad-rule.ts';
import { requireGo, reshapeLike } from './helpers.ts';

export const flattenGrad: GradRule = {
  opType: 'Flatten',
  build: (g) => {
    if (g.needs(0)) reshapeLike(g, requireGo(g), g.i(0), g.gi(0));
  },
};
