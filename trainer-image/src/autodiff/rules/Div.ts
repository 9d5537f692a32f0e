// Div: y = a / b (broadcasting), so da = dy / b and db = −dy·a / b² = −dy·y / b (reusing the forward output),
// each summed over the axes it was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const divGrad: GradRule = {
  opType: 'Div',
  build: (g) => {
    const go = requireGo(g);
    if (g.needs(0)) g.unbroadcast(g.emit('Div', [go, g.i(1)]), g.i(0), g.gi(0));
    if (g.needs(1)) {
      const dyY = g.emit('Mul', [go, g.o(0)]);
      g.unbroadcast(g.emit('Neg', [g.emit('Div', [dyY, g.i(1)])]), g.i(1), g.gi(1));
    }
  },
};
