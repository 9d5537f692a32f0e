// Mul: y = a·b (broadcasting), so da = dy·b and db = dy·a, each summed over the axes it was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const mulGrad: GradRule = {
  opType: 'Mul',
  build: (g) => {
    const go = requireGo(g);
    if (g.needs(0)) g.unbroadcast(g.emit('Mul', [go, g.i(1)]), g.i(0), g.gi(0));
    if (g.needs(1)) g.unbroadcast(g.emit('Mul', [go, g.i(0)]), g.i(1), g.gi(1));
  },
};
