// Tanh: y = tanh(x), so dx = dy·(1 − y²) (reusing the forward output).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const tanhGrad: GradRule = {
  opType: 'Tanh',
  build: (g) => {
    if (!g.needs(0)) return;
    const y = g.o(0);
    const oneMinusY2 = g.emit('Sub', [g.scalarLike(1, y), g.emit('Mul', [y, y])]);
    g.emit('Mul', [requireGo(g), oneMinusY2], {}, [g.gi(0)]);
  },
};
