// Max: y = max(x₀, x₁, …) elementwise (broadcasting), so dxₖ = dy where xₖ = y (split evenly on ties), summed
// over the axes xₖ was broadcast along.
import type { GradRule } from '../grad-rule.ts';
import { selectGrad } from './helpers.ts';

export const maxGrad: GradRule = {
  opType: 'Max',
  build: (g) => selectGrad(g),
};
