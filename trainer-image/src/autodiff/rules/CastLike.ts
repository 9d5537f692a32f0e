// CastLike: y = cast(x, type of target); dx = cast(dy, type of x), zero when the target type is not floating.
// The target only supplies a type and gets no gradient.
import type { GradRule } from '../grad-rule.ts';
import { castGradient } from './helpers.ts';

export const castLikeGrad: GradRule = {
  opType: 'CastLike',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (g.needs(0)) castGradient(g);
  },
};
