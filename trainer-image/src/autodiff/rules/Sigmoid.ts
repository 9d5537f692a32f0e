// Sigmoid: y = 1 / (1 + e^−x), so dx = dy·y·(1 − y) (reusing the forward output; QuickGELU is x·sigmoid(1.702x)).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const sigmoidGrad: GradRule = {
  opType: 'Sigmoid',
  build: (g) => {
    if (!g.needs(0)) return;
    const y = g.o(0);
    const oneMinusY = g.emit('Sub', [g.scalarLike(1, y), y]);
    g.emit('Mul', [g.emit('Mul', [requireGo(g), y]), oneMinusY], {}, [g.gi(0)]);
  },
};
