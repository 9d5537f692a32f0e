// ReduceMean: y = (1/n) Σ x over axes (axes an input from opset 18, an attribute before; none = all), so
// dx = dy / n broadcast back to x's shape, n = |x| / |y| counted at run time (exact integer division).
import type { GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { expandReduced } from './helpers.ts';

export const reduceMeanGrad: GradRule = {
  opType: 'ReduceMean',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (!g.needs(0)) return;
    const count = (dy: string): string => {
      const n = g.emit('Div', [g.emit('Size', [g.i(0)]), g.emit('Size', [g.o(0)])]);
      return g.emit('Div', [dy, g.emit('Cast', [n], { to: attr.int(g.dataType(g.o(0))) })]);
    };
    expandReduced(g, g.opset >= 18, g.gi(0), count);
  },
};
