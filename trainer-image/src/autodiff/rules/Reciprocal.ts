// Reciprocal: y = 1/x, so dx = −dy·y² (reusing the forward output).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const reciprocalGrad: GradRule = {
  opType: 'Reciprocal',
  build: (g) => {
    if (!g.needs(0)) return;
    const y = g.o(0);
    g.emit('Neg', [g.emit('Mul', [requireGo(g), g.emit('Mul', [y, y])])], {}, [g.gi(0)]);
  },
};
