// Cast: y = cast(x, to); between floating types dx = cast(dy, type of x). A cast to an integer or bool type is
// piecewise constant, so its gradient is zero (emitted as zeros of x's shape when nothing flows back).
import type { GradRule } from '../grad-rule.ts';
import { castGradient } from './helpers.ts';

export const castGrad: GradRule = {
  opType: 'Cast',
  build: (g) => {
    if (g.needs(0)) castGradient(g);
  },
};
