// Cos: y = cos x, so dx = −dy·sin x (the sinusoidal timestep embedding).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const cosGrad: GradRule = {
  opType: 'Cos',
  build: (g) => {
    if (!g.needs(0)) return;
    g.emit('Neg', [g.emit('Mul', [requireGo(g), g.emit('Sin', [g.i(0)])])], {}, [g.gi(0)]);
  },
};
