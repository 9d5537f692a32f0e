// Concat: y = [x₀ | x₁ | …] along `axis`, so dxₖ is the slice of dy at [offsetₖ, offsetₖ + sizeₖ) on that axis.
// Sizes come from static dims where known and from Shape at run time otherwise. The embedding splice (rows
// Concat'ed to a token table on axis 0, read only by Gather on axis 0) skips the table-sized dy: for an input at
// rows [off, off + n), dxₖ = onehot(ids − off, n)ᵀ·dz with dz the Gather's output gradient, O(|dz|·n) work with
// products by exact 0 and 1 (the same sums as the scatter), and ids outside the block match no row.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { normAxis, requireGo, staticDims, unsqueeze } from './helpers.ts';

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

// Gemm's float types on every onnxruntime CPU build; others take the slice path.
const GEMM_TYPES = new Set([1, 11]);
// A one-hot block wider than this (the table itself needing a gradient) is no saving over the slice.
const MAX_BLOCK_ROWS = 256;

/** Row gradients of an axis-0 Concat read only by an axis-0 Gather, or false when the pattern does not apply. */
function gatheredRows(g: GradContext, axis: number): boolean {
  const consumer = g.soleConsumer?.(0);
  if (axis !== 0 || consumer?.opType !== 'Gather' || consumer.inputIndex !== 0) return false;
  const rank = g.rank(g.o(0));
  if (normAxis(consumer.attrInt('axis', 0), rank) !== 0) return false;
  const dz = consumer.go(0);
  const ids = consumer.inputs[1];
  const sizes = Array.from({ length: g.inputCount }, (_, k) => staticDims(g, g.i(k)));
  const type = g.dataType(g.o(0));
  if (dz === undefined || !ids || sizes.some((d) => d === undefined) || !GEMM_TYPES.has(type)) return false;
  if (sizes.some((d, k) => g.needs(k) && (d?.[0] ?? 0) > MAX_BLOCK_ROWS)) return false;
  const total = sizes.reduce((sum, d) => sum + (d?.[0] ?? 0), 0);
  // Gather allows negative ids (counted from the end of the grown table): normalize to [0, total).
  const ids64 = g.dataType(ids) === 7 ? ids : g.emit('Cast', [ids], { to: attr.int(7) });
  const zero = g.constant({ dataType: 7, dims: [], values: [0n] });
  const negative = g.emit('Less', [ids64, zero]);
  const idsN = g.emit('Where', [negative, g.emit('Add', [ids64, g.int64s([total])]), ids64]);
  const column = unsqueeze(g, idsN, [-1]);
  let offset = 0;
  for (let k = 0; k < g.inputCount; k++) {
    const dims = sizes[k] ?? [];
    const rows = dims[0] ?? 0;
    if (g.needs(k)) {
      const block = g.int64s(Array.from({ length: rows }, (_, r) => offset + r));
      const hot = g.emit('Cast', [g.emit('Equal', [column, block])], { to: attr.int(type) });
      const rest = dims.slice(1).reduce((a, b) => a * b, 1);
      const hot2 = g.emit('Reshape', [hot, g.int64s([-1, rows])]);
      const dz2 = g.emit('Reshape', [dz, g.int64s([-1, rest])]);
      const product = g.emit('Gemm', [hot2, dz2], { transA: attr.int(1) });
      g.emit('Reshape', [product, g.int64s(dims)], {}, [g.gi(k)]);
    }
    offset += rows;
  }
  return true;
}

export const concatGrad: GradRule = {
  opType: 'Concat',
  build: (g) => {
    const axis = normAxis(g.attrInt('axis'), g.rank(g.o(0)));
    if (gatheredRows(g, axis)) return;
    const go = requireGo(g);
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
