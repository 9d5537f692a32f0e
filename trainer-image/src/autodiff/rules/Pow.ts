// Pow: y = a^b (broadcasting), so da = dy·b·a^(b−1) and db = dy·y·ln a (defined for a > 0), each summed over
// the axes it was broadcast along. An exponent of another element type is cast to a's type first.
import type { GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const powGrad: GradRule = {
  opType: 'Pow',
  build: (g) => {
    const go = requireGo(g);
    const a = g.i(0);
    const b0 = g.i(1);
    const b = g.dataType(b0) === g.dataType(a) ? b0 : g.emit('Cast', [b0], { to: attr.int(g.dataType(a)) });
    if (g.needs(0)) {
      const bMinus1 = g.emit('Sub', [b, g.scalarLike(1, a)]);
      const local = g.emit('Mul', [b, g.emit('Pow', [a, bMinus1])]);
      g.unbroadcast(g.emit('Mul', [go, local]), a, g.gi(0));
    }
    if (g.needs(1)) {
      const local = g.emit('Mul', [g.o(0), g.emit('Log', [a])]);
      g.unbroadcast(g.emit('Mul', [go, local]), b0, g.gi(1));
    }
  },
};
