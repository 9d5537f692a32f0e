// Erf: y = erf(x) = 2/√π ∫₀ˣ e^−t² dt, so dx = dy·(2/√π)·e^−x² (exact GELU is 0.5·x·(1 + erf(x/√2))).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const erfGrad: GradRule = {
  opType: 'Erf',
  build: (g) => {
    if (!g.needs(0)) return;
    const x = g.i(0);
    const expNegX2 = g.emit('Exp', [g.emit('Neg', [g.emit('Mul', [x, x])])]);
    const scaled = g.emit('Mul', [expNegX2, g.scalarLike(2 / Math.sqrt(Math.PI), x)]);
    g.emit('Mul', [requireGo(g), scaled], {}, [g.gi(0)]);
  },
};
