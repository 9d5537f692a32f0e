// Pow: y = a^b (broadcasting), so da = dy·b·a^(b−1) and db = dy·y·ln a (defined for a > 0), each summed over
// the axes it was broadcast along. An exponent of another element type is cast to a's type first.
import type { GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { gradToInput, outputs, requireGo } from './helpers.ts';

export const powGrad: GradRule = {
  opType: 'Pow',
  build: (g) => {
    const go = requireGo(g);
    const a = g.i(0);
    const b0 = g.i(1);
    const b = g.dataType(b0) === g.dataType(a) ? b0 : g.emit('Cast', [b0], { to: attr.int(g.dataType(a)) });
    if (g.needs(0)) {
      // A constant scalar exponent e (the variance's x², a square root) folds to e·a^(e−1), or 2a for e = 2.
      const known = g.constValue(b0);
      const e = known !== undefined && known.values.length === 1 ? Number(known.values[0]) : undefined;
      let local: string;
      if (e === 2) local = g.emit('Mul', [a, g.scalarLike(2, a)]);
      else if (e !== undefined)
        local = g.emit('Mul', [g.emit('Pow', [a, g.scalarLike(e - 1, a)]), g.scalarLike(e, a)]);
      else local = g.emit('Mul', [b, g.emit('Pow', [a, g.emit('Sub', [b, g.scalarLike(1, a)])])]);
      gradToInput(g, a, [b0], g.gi(0), (out) => g.emit('Mul', [go, local], {}, outputs(out)));
    }
    if (g.needs(1)) {
      const local = g.emit('Mul', [g.o(0), g.emit('Log', [a])]);
      gradToInput(g, b0, [a], g.gi(1), (out) => g.emit('Mul', [go, local], {}, outputs(out)));
    }
  },
};
