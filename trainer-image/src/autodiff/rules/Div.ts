// Div: y = a / b (broadcasting), so da = dy / b and db = −dy·a / b² = −dy·y / b (reusing the forward output),
// each summed over the axes it was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { gradToInput, outputs, requireGo } from './helpers.ts';

export const divGrad: GradRule = {
  opType: 'Div',
  build: (g) => {
    const go = requireGo(g);
    const a = g.i(0);
    const b = g.i(1);
    if (g.needs(0)) gradToInput(g, a, [b], g.gi(0), (out) => g.emit('Div', [go, b], {}, outputs(out)));
    if (g.needs(1)) {
      const dyY = g.emit('Mul', [go, g.o(0)]);
      gradToInput(g, b, [a], g.gi(1), (out) => g.emit('Neg', [g.emit('Div', [dyY, b])], {}, outputs(out)));
    }
  },
};
