// Sin: y = sin x, so dx = dy·cos x (the sinusoidal timestep embedding).
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const sinGrad: GradRule = {
  opType: 'Sin',
  build: (g) => {
    if (g.needs(0)) g.emit('Mul', [requireGo(g), g.emit('Cos', [g.i(0)])], {}, [g.gi(0)]);
  },
};
