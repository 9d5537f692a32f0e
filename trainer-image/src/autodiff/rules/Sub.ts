// Sub: y = a − b (broadcasting), so da = dy and db = −dy, each summed over the axes it was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const subGrad: GradRule = {
  opType: 'Sub',
  build: (g) => {
    const go = requireGo(g);
    if (g.needs(0)) g.unbroadcast(go, g.i(0), g.gi(0));
    if (g.needs(1)) g.unbroadcast(g.emit('Neg', [go]), g.i(1), g.gi(1));
  },
};
