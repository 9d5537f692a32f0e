// Add: y = a + b (broadcasting), so da = dy and db = dy, each summed over the axes it was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { gradToInput, passThrough, requireGo } from './helpers.ts';

export const addGrad: GradRule = {
  opType: 'Add',
  build: (g) => {
    const go = requireGo(g);
    if (g.needs(0)) gradToInput(g, g.i(0), [g.i(1)], g.gi(0), passThrough(g, go));
    if (g.needs(1)) gradToInput(g, g.i(1), [g.i(0)], g.gi(1), passThrough(g, go));
  },
};
