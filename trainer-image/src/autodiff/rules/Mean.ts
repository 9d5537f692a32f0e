// Mean: y = (x₀ + … + x_{n−1}) / n (broadcasting), so dxₖ = dy / n summed over the axes xₖ was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const meanGrad: GradRule = {
  opType: 'Mean',
  build: (g) => {
    const go = requireGo(g);
    const scaled = g.emit('Div', [go, g.scalarLike(g.inputCount, go)]);
    for (let k = 0; k < g.inputCount; k++) if (g.needs(k)) g.unbroadcast(scaled, g.i(k), g.gi(k));
  },
};
