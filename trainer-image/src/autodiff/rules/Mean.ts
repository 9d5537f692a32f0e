// Mean: y = (x₀ + … + x_{n−1}) / n (broadcasting), so dxₖ = dy / n summed over the axes xₖ was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { gradToInput, passThrough, requireGo } from './helpers.ts';

export const meanGrad: GradRule = {
  opType: 'Mean',
  build: (g) => {
    const go = requireGo(g);
    const scaled = g.emit('Div', [go, g.scalarLike(g.inputCount, go)]);
    const all = Array.from({ length: g.inputCount }, (_, k) => g.i(k));
    for (let k = 0; k < g.inputCount; k++) {
      if (g.needs(k)) gradToInput(g, g.i(k), all, g.gi(k), passThrough(g, scaled));
    }
  },
};
