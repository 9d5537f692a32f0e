// Log: y = ln x, so dx = dy / x.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const logGrad: GradRule = {
  opType: 'Log',
  build: (g) => {
    if (g.needs(0)) g.emit('Div', [requireGo(g), g.i(0)], {}, [g.gi(0)]);
  },
};
