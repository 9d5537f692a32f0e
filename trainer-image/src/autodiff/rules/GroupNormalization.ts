// GroupNormalization (opset 18): y = x̂·scale + bias with x̂ = (x − mean)/√(var + ε) over each group of C/G channels
// and all spatial positions; scale and bias are per group [G] before opset 21 and per channel [C] from 21. On
// x viewed as [N, G, rest]: dbias = Σ dy, dscale = Σ dy·x̂ over all but the group (channel) axis, and
// dx = invStd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) over `rest`, with dx̂ = dy·scale.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { normInputGrad, normStats, reduceSum, requireGo, unsqueeze } from './helpers.ts';

const grouped = (g: GradContext, t: string, groups: number): string =>
  g.emit('Reshape', [t, g.int64s([0, groups, -1])]);

export const groupNormalizationGrad: GradRule = {
  opType: 'GroupNormalization',
  build: (g) => {
    const x = g.i(0);
    const go = requireGo(g);
    const rank = g.rank(x);
    const groups = g.attrInt('num_groups');
    const perChannel = g.opset >= 21;
    const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
    // Per channel: reduce [N, C, …] over all but C. Per group: reduce [N, G, rest] over N and rest.
    const reduceTo = (t: string, out: string): void => {
      if (perChannel) reduceSum(g, t, [0, ...spatial], false, out);
      else reduceSum(g, grouped(g, t, groups), [0, 2], false, out);
    };
    if (g.needs(2)) reduceTo(go, g.gi(2));
    if (!g.needs(0) && !g.needs(1)) return;
    const stats = normStats(g, grouped(g, x, groups), [2], g.attrFloat('epsilon', 1e-5));
    const xhat = g.emit('Reshape', [stats.xhat, g.emit('Shape', [x])]);
    if (g.needs(1)) reduceTo(g.emit('Mul', [go, xhat]), g.gi(1));
    if (g.needs(0)) {
      // dx̂ on the grouped view: per-channel scale multiplies before grouping, per-group scale [G] after.
      const dxhat = perChannel
        ? grouped(
            g,
            g.emit('Mul', [
              go,
              unsqueeze(
                g,
                g.i(1),
                spatial.map((a) => a - 1),
              ),
            ]),
            groups,
          )
        : g.emit('Mul', [grouped(g, go, groups), unsqueeze(g, g.i(1), [1])]);
      const dx = normInputGrad(g, stats, dxhat, [2]);
      g.emit('Reshape', [dx, g.emit('Shape', [x])], {}, [g.gi(0)]);
    }
  },
};
