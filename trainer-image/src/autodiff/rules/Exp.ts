// Exp: y = e^x, so dx = dy·y (reusing the forward output).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const expGrad: GradRule = {
  opType: 'Exp',
  build: (g) => {
    if (g.needs(0)) g.emit('Mul', [requireGo(g), g.o(0)], {}, [g.gi(0)]);
  },
};
