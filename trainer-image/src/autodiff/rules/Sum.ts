// Sum: y = x₀ + x₁ + … (n-ary, broadcasting), so dxₖ = dy summed over the axes xₖ was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { gradToInput, passThrough, requireGo } from './helpers.ts';

export const sumGrad: GradRule = {
  opType: 'Sum',
  build: (g) => {
    const go = requireGo(g);
    const all = Array.from({ length: g.inputCount }, (_, k) => g.i(k));
    for (let k = 0; k < g.inputCount; k++) {
      if (g.needs(k)) gradToInput(g, g.i(k), all, g.gi(k), passThrough(g, go));
    }
  },
};
