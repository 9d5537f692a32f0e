// Abs: y = |x|, so dx = dy·sign(x) (0 at x = 0, as PyTorch).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const absGrad: GradRule = {
  opType: 'Abs',
  build: (g) => {
    if (g.needs(0)) g.emit('Mul', [requireGo(g), g.emit('Sign', [g.i(0)])], {}, [g.gi(0)]);
  },
};
