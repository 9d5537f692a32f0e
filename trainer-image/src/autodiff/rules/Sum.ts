// Sum: y = x₀ + x₁ + … (n-ary, broadcasting), so dxₖ = dy summed over the axes xₖ was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const sumGrad: GradRule = {
  opType: 'Sum',
  build: (g) => {
    const go = requireGo(g);
    for (let k = 0; k < g.inputCount; k++) if (g.needs(k)) g.unbroadcast(go, g.i(k), g.gi(k));
  },
};
