// Where: y = cond ? a : b (broadcasting), so da = dy where cond else 0 and db = dy where not cond else 0, each
// summed over the axes it was broadcast along. The condition gets no gradient.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const whereGrad: GradRule = {
  opType: 'Where',
  nonDifferentiableInputs: [0],
  build: (g) => {
    const go = requireGo(g);
    const cond = g.i(0);
    const zero = g.scalarLike(0, go);
    if (g.needs(1)) g.unbroadcast(g.emit('Where', [cond, go, zero]), g.i(1), g.gi(1));
    if (g.needs(2)) g.unbroadcast(g.emit('Where', [cond, zero, go]), g.i(2), g.gi(2));
  },
};
