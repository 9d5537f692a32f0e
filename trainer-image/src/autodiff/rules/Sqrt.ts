// Sqrt: y = √x, so dx = dy / (2y) (reusing the forward output).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const sqrtGrad: GradRule = {
  opType: 'Sqrt',
  build: (g) => {
    if (!g.needs(0)) return;
    const y = g.o(0);
    const half = g.emit('Mul', [requireGo(g), g.scalarLike(0.5, y)]);
    g.emit('Div', [half, y], {}, [g.gi(0)]);
  },
};
