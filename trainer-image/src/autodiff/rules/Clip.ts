// Clip: y = min(max(x, lo), hi) (bounds as optional inputs from opset 11), so dx = dy where lo ≤ x ≤ hi and 0
// outside (PyTorch's clamp convention: the gradient passes at the bounds). The bounds get no gradient.
import type { GradRule } from '../grad-rule.ts';
import { requireGo } from './helpers.ts';

export const clipGrad: GradRule = {
  opType: 'Clip',
  nonDifferentiableInputs: [1, 2],
  build: (g) => {
    if (!g.needs(0)) return;
    const x = g.i(0);
    const lo = g.inputCount > 1 ? g.i(1) : '';
    const hi = g.inputCount > 2 ? g.i(2) : '';
    let mask: string | undefined;
    if (lo !== '') mask = g.emit('GreaterOrEqual', [x, lo]);
    if (hi !== '') {
      const below = g.emit('LessOrEqual', [x, hi]);
      mask = mask === undefined ? below : g.emit('And', [mask, below]);
    }
    if (mask === undefined) g.bind(requireGo(g), g.gi(0));
    else g.emit('Where', [mask, requireGo(g), g.scalarLike(0, x)], {}, [g.gi(0)]);
  },
};
