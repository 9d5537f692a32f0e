// Where: y = cond ? a : b (broadcasting), so da = dy where cond else 0 and db = dy where not cond else 0, each
// summed over the axes it was broadcast along. The condition gets no gradient.
import type { GradRule } from '../grad-rule.ts';
import { gradToInput, outputs, requireGo } from './helpers.ts';

export const whereGrad: GradRule = {
  opType: 'Where',
  nonDifferentiableInputs: [0],
  build: (g) => {
    const go = requireGo(g);
    const cond = g.i(0);
    const zero = g.scalarLike(0, go);
    const [a, b] = [g.i(1), g.i(2)];
    if (g.needs(1))
      gradToInput(g, a, [cond, b], g.gi(1), (out) => g.emit('Where', [cond, go, zero], {}, outputs(out)));
    if (g.needs(2))
      gradToInput(g, b, [cond, a], g.gi(2), (out) => g.emit('Where', [cond, zero, go], {}, outputs(out)));
  },
};
