// Neg: y = −x, so dx = −dy.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const negGrad: GradRule = {
  opType: 'Neg',
  build: (g) => {
    if (g.needs(0)) g.emit('Neg', [requireGo(g)], {}, [g.gi(0)]);
  },
};
