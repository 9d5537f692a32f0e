// LeakyRelu: y = x for x > 0, α·x otherwise (α default 0.01), so dx = dy where x > 0 and α·dy elsewhere.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const leakyReluGrad: GradRule = {
  opType: 'LeakyRelu',
  build: (g) => {
    if (!g.needs(0)) return;
    const x = g.i(0);
    const go = requireGo(g);
    const positive = g.emit('Greater', [x, g.scalarLike(0, x)]);
    const leak = g.emit('Mul', [go, g.scalarLike(g.attrFloat('alpha', 0.01), x)]);
    g.emit('Where', [positive, go, leak], {}, [g.gi(0)]);
  },
};
