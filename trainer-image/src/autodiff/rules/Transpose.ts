// Transpose: y = transpose(x, perm) (perm defaults to reversing the axes), so dx = transpose(dy, perm⁻¹).
import type { GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const transposeGrad: GradRule = {
  opType: 'Transpose',
  build: (g) => {
    if (!g.needs(0)) return;
    const rank = g.rank(g.i(0));
    const perm = g.hasAttr('perm')
      ? g.attrInts('perm')
      : Array.from({ length: rank }, (_, i) => rank - 1 - i);
    const inverse = new Array<number>(perm.length);
    perm.forEach((p, i) => {
      inverse[p] = i;
    });
    g.emit('Transpose', [requireGo(g)], { perm: attr.ints(inverse) }, [g.gi(0)]);
  },
};
