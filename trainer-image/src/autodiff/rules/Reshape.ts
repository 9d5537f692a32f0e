// Reshape: y = reshape(x, shape), a relabelling of elements, so dx = reshape(dy, shape(x)). The shape input has no
// gradient.
import type { Attr, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const reshapeGrad: GradRule = {
  opType: 'Reshape',
  nonDifferentiableInputs: [1],
  build: (g) => {
    if (!g.needs(0)) return;
    const shape = g.emit('Shape', [g.i(0)]);
    // allowzero (opset 14+) keeps a genuine 0 in shape(x) from meaning "copy that dim of dy".
    const attrs: Record<string, Attr> = g.opset >= 14 ? { allowzero: attr.int(1) } : {};
    g.emit('Reshape', [requireGo(g), shape], attrs, [g.gi(0)]);
  },
};
