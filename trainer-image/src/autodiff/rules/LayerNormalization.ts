// LayerNormalization (opset 17): y = x̂·scale + B with x̂ = (x − mean)/√(var + ε) over the axes from `axis` (default
// −1) on. dB = Σ dy and dscale = Σ dy·x̂ over the leading axes; dx = invStd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with
// dx̂ = dy·scale. Mean and InvStdDev come from the forward node when it outputs them (same element type), else
// float32 recomputes x̂ and InvStdDev with one unit-scale LayerNormalization and other types step by step.
import type { GradRule } from '../grad-rule.ts';
import { fusedNormStats, normAxis, normInputGrad, normStats, requireGo } from './helpers.ts';

export const layerNormalizationGrad: GradRule = {
  opType: 'LayerNormalization',
  build: (g) => {
    const x = g.i(0);
    const scale = g.i(1);
    const bias = g.inputCount > 2 ? g.i(2) : '';
    const go = requireGo(g);
    const rank = g.rank(x);
    const axis = normAxis(g.attrInt('axis', -1), rank);
    const axes = Array.from({ length: rank - axis }, (_, i) => axis + i);
    const needX = g.needs(0);
    const needScale = g.needs(1);
    if (bias !== '' && g.needs(2)) g.unbroadcast(go, bias, g.gi(2));
    if (!needX && !needScale) return;
    const type = g.dataType(x);
    let saved: { mean: string; invStd: string } | undefined;
    const savedName = (k: number): string | undefined => {
      if (g.outputCount > k && g.o(k) !== '') return g.o(k);
      return g.savedOutput?.(k);
    };
    const mean = savedName(1);
    const invStd = mean === undefined ? undefined : savedName(2);
    if (
      mean !== undefined &&
      invStd !== undefined &&
      g.dataType(mean) === type &&
      g.dataType(invStd) === type
    ) {
      saved = { mean, invStd };
    }
    const epsilon = g.attrFloat('epsilon', 1e-5);
    const stats =
      saved === undefined && type === 1
        ? fusedNormStats(g, x, axis, epsilon)
        : normStats(g, x, axes, epsilon, saved);
    if (needScale) g.unbroadcast(g.emit('Mul', [go, stats.xhat]), scale, g.gi(1));
    if (needX) normInputGrad(g, stats, g.emit('Mul', [go, scale]), axes, g.gi(0));
  },
};
