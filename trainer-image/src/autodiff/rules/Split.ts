// Split: [y₀, y₁, …] = pieces of x along `axis` (sizes from the `split` attribute before opset 13, an input from
// 13, or num_outputs from 18), so dx = Concat(dy₀, dy₁, …) along the axis, with zeros for pieces that receive no
// gradient. The split input has no gradient.
import type { GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { zerosLike } from './helpers.ts';

export const splitGrad: GradRule = {
  opType: 'Split',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (!g.needs(0)) return;
    const type = g.dataType(g.i(0));
    const pieces: string[] = [];
    for (let k = 0; k < g.outputCount; k++) {
      pieces.push(g.go(k) ?? zerosLike(g, g.o(k), type));
    }
    g.emit('Concat', pieces, { axis: attr.int(g.attrInt('axis', 0)) }, [g.gi(0)]);
  },
};
