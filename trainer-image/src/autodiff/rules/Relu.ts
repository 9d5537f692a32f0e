// Relu: y = max(x, 0), so dx = dy where x > 0 and 0 elsewhere (0 at x = 0, as PyTorch).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const reluGrad: GradRule = {
  opType: 'Relu',
  build: (g) => {
    if (!g.needs(0)) return;
    const x = g.i(0);
    const positive = g.emit('Greater', [x, g.scalarLike(0, x)]);
    g.emit('Where', [positive, requireGo(g), g.scalarLike(0, x)], {}, [g.gi(0)]);
  },
};
