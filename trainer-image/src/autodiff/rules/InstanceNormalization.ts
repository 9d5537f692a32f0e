// InstanceNormalization: y = x̂·scale[c] + B[c] with x̂ = (x − mean)/√(var + ε) over the spatial axes of each
// (n, c); GroupNorm exports put it between two Reshapes. dB = Σ dy and dscale = Σ dy·x̂ over all but the channel
// axis; dx = invStd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = dy·scale[c]. In float32 from opset 17, x̂ and
// invStd come from one unit-scale LayerNormalization over axes 2… (the same statistics, one fused kernel).
import type { GradRule } from '../grad-rule.ts';
import {
  fusedNormStats,
  isConstantFill,
  normInputGrad,
  normStats,
  reduceSum,
  requireGo,
  unsqueeze,
} from './helpers.ts';

export const instanceNormalizationGrad: GradRule = {
  opType: 'InstanceNormalization',
  build: (g) => {
    const x = g.i(0);
    const go = requireGo(g);
    const rank = g.rank(x);
    const spatial = Array.from({ length: rank - 2 }, (_, i) => i + 2);
    const allButChannel = [0, ...spatial];
    if (g.needs(2)) reduceSum(g, go, allButChannel, false, g.gi(2));
    if (!g.needs(0) && !g.needs(1)) return;
    const epsilon = g.attrFloat('epsilon', 1e-5);
    const fused = g.dataType(x) === 1 && g.opset >= 17;
    const stats = fused ? fusedNormStats(g, x, 2, epsilon) : normStats(g, x, spatial, epsilon);
    if (g.needs(1)) reduceSum(g, g.emit('Mul', [go, stats.xhat]), allButChannel, false, g.gi(1));
    if (g.needs(0)) {
      // GroupNorm exports pass a constant unit scale: then dx̂ = dy.
      const unit = isConstantFill(g, g.i(1), 1);
      const dxhat = unit
        ? go
        : g.emit('Mul', [
            go,
            unsqueeze(
              g,
              g.i(1),
              spatial.map((a) => a - 1),
            ),
          ]);
      normInputGrad(g, stats, dxhat, spatial, g.gi(0));
    }
  },
};
