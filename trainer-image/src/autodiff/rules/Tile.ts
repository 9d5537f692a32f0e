// Tile: y = x repeated rₖ times along each axis k, so dx = Σ of dy over the copies: dy reshaped to
// [r₀, d₀, r₁, d₁, …] (the interleaving built from the repeats and shape(x), so it works at run time) and summed
// over the r axes. The repeats input gets no gradient.
import type { GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { reduceSum, requireGo, unsqueeze } from './helpers.ts';

export const tileGrad: GradRule = {
  opType: 'Tile',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (!g.needs(0)) return;
    const x = g.i(0);
    const rank = g.rank(x);
    const repeats = g.dataType(g.i(1)) === 7 ? g.i(1) : g.emit('Cast', [g.i(1)], { to: attr.int(7) });
    const pairs = g.emit('Concat', [unsqueeze(g, repeats, [0]), unsqueeze(g, g.emit('Shape', [x]), [0])], {
      axis: attr.int(0),
    });
    const interleaved = g.emit('Reshape', [
      g.emit('Transpose', [pairs], { perm: attr.ints([1, 0]) }),
      g.int64s([-1]),
    ]);
    const blocks = g.emit('Reshape', [requireGo(g), interleaved]);
    reduceSum(
      g,
      blocks,
      Array.from({ length: rank }, (_, k) => 2 * k),
      false,
      g.gi(0),
    );
  },
};
