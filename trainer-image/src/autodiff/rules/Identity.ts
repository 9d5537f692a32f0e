// Identity: y = x, so dx = dy.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const identityGrad: GradRule = {
  opType: 'Identity',
  build: (g) => {
    if (g.needs(0)) g.bind(requireGo(g), g.gi(0));
  },
};
