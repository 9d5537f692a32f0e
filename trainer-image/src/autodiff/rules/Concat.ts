// Concat: y = [x₀ | x₁ | …] along `axis`, so dxₖ is the slice of dy at [offsetₖ, offsetₖ + sizeₖ) on that axis.
// Sizes come from static dims where known and from Shape at run time otherwise.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { normAxis, requireGo } from './helpers.ts';

/** The extent of `x` along `axis`: a number when static, else the name of a 1-element INT64 tensor. */
function extent(g: GradContext, x: string, axis: number): number | string {
  const d = g.dims(x)[axis];
  if (typeof d === 'number') return d;
  return g.emit('Gather', [g.emit('Shape', [x]), g.int64s([axis])]);
}

function addExtent(g: GradContext, a: number | string, b: number | string): number | string {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  const ta = typeof a === 'number' ? g.int64s([a]) : a;
  const tb = typeof b === 'number' ? g.int64s([b]) : b;
  return g.emit('Add', [ta, tb]);
}

const asTensor = (g: GradContext, v: number | string): string => (typeof v === 'number' ? g.int64s([v]) : v);

export const concatGrad: GradRule = {
  opType: 'Concat',
  build: (g) => {
    const go = requireGo(g);
    const axis = normAxis(g.attrInt('axis'), g.rank(g.o(0)));
    let last = -1;
    for (let k = 0; k < g.inputCount; k++) if (g.needs(k)) last = k;
    let offset: number | string = 0;
    for (let k = 0; k <= last; k++) {
      const x = g.i(k);
      const size = extent(g, x, axis);
      const end = addExtent(g, offset, size);
      if (g.needs(k)) {
        const inputs = [go, asTensor(g, offset), asTensor(g, end), g.int64s([axis])];
        g.emit('Slice', inputs, {}, [g.gi(k)]);
      }
      offset = end;
    }
  },
};
