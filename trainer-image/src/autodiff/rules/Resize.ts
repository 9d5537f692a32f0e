// Resize, nearest mode with integer scale factors (the UNet's 2× upsampling): every output pixel copies the input
// pixel of its block, so dx sums dy over each s×…×s block — dy reshaped to [.., H, s, W, s, ..] and ReduceSum
// over the s axes. The rule first checks, for the node's coordinate_transformation_mode and nearest_mode, that
// the source index of output i is ⌊i / s⌋ (true for asymmetric+floor and half_pixel+round, not for align_corners);
// scales come from the scales input, or from constant sizes over static dims. When they are only known at run time
// (sizes computed from shapes), s = shape(y) / shape(x) per axis is interleaved with shape(x) in the graph, which
// is exact for any integer s under asymmetric+floor and half_pixel+round_prefer_*. Other modes are an error.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { constInts, normAxis, reduceSum, requireGo, unsqueeze } from './helpers.ts';

function roundHalf(v: number, mode: string): number {
  switch (mode) {
    case 'floor':
      return Math.floor(v);
    case 'ceil':
      return Math.ceil(v);
    case 'round_prefer_ceil':
      return Math.floor(v) + (v - Math.floor(v) >= 0.5 ? 1 : 0);
    default:
      return Math.floor(v) + (v - Math.floor(v) > 0.5 ? 1 : 0);
  }
}

/** Whether the node maps output index i to input ⌊i / s⌋ for every i of a few blocks. */
function isBlockCopy(ctm: string, nearest: string, s: number): boolean {
  for (let i = 0; i < 4 * s; i++) {
    let orig: number;
    if (ctm === 'asymmetric') orig = i / s;
    else if (ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') orig = (i + 0.5) / s - 0.5;
    else return false;
    if (Math.max(roundHalf(orig, nearest), 0) !== Math.floor(i / s)) return false;
  }
  return true;
}

/** Whether ⌊i / s⌋ is the source index for every integer s (so scales need not be known when building). */
function isBlockCopyForAll(ctm: string, nearest: string): boolean {
  if (ctm === 'asymmetric') return nearest === 'floor';
  return (ctm === 'half_pixel' || ctm === 'pytorch_half_pixel') && nearest.startsWith('round_prefer');
}

/** Scale factors per axis when known while building, else undefined. */
function scaleFactors(g: GradContext, rank: number): number[] | undefined {
  const x = g.i(0);
  const opt = (k: number): string => (g.inputCount > k ? g.i(k) : '');
  const axesAttr = g.hasAttr('axes') ? g.attrInts('axes').map((a) => normAxis(a, rank)) : undefined;
  const axes = axesAttr ?? Array.from({ length: rank }, (_, i) => i);
  const full = new Array<number>(rank).fill(1);
  const scalesName = opt(2);
  const scalesConst = scalesName === '' ? undefined : g.constValue(scalesName);
  const given =
    scalesConst !== undefined && scalesConst.values.length > 0
      ? Array.from(scalesConst.values, Number)
      : undefined;
  if (given !== undefined) {
    axes.forEach((a, j) => {
      full[a] = given[j] ?? 1;
    });
    return full;
  }
  const sizes = constInts(g, opt(3));
  const inDims = g.dims(x);
  const outDims = g.dims(g.o(0));
  for (const [j, a] of axes.entries()) {
    const n = inDims[a];
    const m = sizes?.[j] ?? outDims[a];
    if (typeof n !== 'number' || typeof m !== 'number') return undefined;
    full[a] = m / n;
  }
  return full;
}

/** dx for scales known only at run time: dy as [d₀, s₀, d₁, s₁, …] summed over the s axes (s = 1 is harmless). */
function runtimeBlockSum(g: GradContext, rank: number): void {
  const shapeX = g.emit('Shape', [g.i(0)]);
  const factors = g.emit('Div', [g.emit('Shape', [g.o(0)]), shapeX]);
  const rows = [shapeX, factors].map((v) => unsqueeze(g, v, [0]));
  const pairs = g.emit('Transpose', [g.emit('Concat', rows, { axis: attr.int(0) })], {
    perm: attr.ints([1, 0]),
  });
  const blocks = g.emit('Reshape', [requireGo(g), g.emit('Reshape', [pairs, g.int64s([-1])])]);
  const odd = Array.from({ length: rank }, (_, k) => 2 * k + 1);
  reduceSum(g, blocks, odd, false, g.gi(0));
}

export const resizeGrad: GradRule = {
  opType: 'Resize',
  nonDifferentiableInputs: [1, 2, 3],
  build: (g) => {
    if (!g.needs(0)) return;
    const x = g.i(0);
    const rank = g.rank(x);
    const mode = g.attrString('mode', 'nearest');
    const ctm = g.attrString('coordinate_transformation_mode', 'half_pixel');
    const nearest = g.attrString('nearest_mode', 'round_prefer_floor');
    const fail = (why: string): Error => new Error(`Resize node '${g.nodeName}': no gradient for ${why}`);
    if (mode !== 'nearest') throw fail(`mode ${mode}`);
    const scales = scaleFactors(g, rank);
    if (scales === undefined) {
      if (!isBlockCopyForAll(ctm, nearest))
        throw fail(`${ctm} with nearest_mode ${nearest} at run-time sizes`);
      runtimeBlockSum(g, rank);
      return;
    }
    for (const s of scales) {
      if (!Number.isInteger(s) || s < 1) throw fail(`scale ${s} (integer upsampling only)`);
      if (s > 1 && !isBlockCopy(ctm, nearest, s)) throw fail(`${ctm} with nearest_mode ${nearest}`);
    }
    const shapeX = g.emit('Shape', [x]);
    const parts: string[] = [];
    const blockAxes: number[] = [];
    scales.forEach((s, a) => {
      parts.push(g.emit('Slice', [shapeX, g.int64s([a]), g.int64s([a + 1])]));
      if (s > 1) {
        blockAxes.push(parts.length);
        parts.push(g.int64s([s]));
      }
    });
    if (blockAxes.length === 0) {
      g.bind(requireGo(g), g.gi(0));
      return;
    }
    const blocks = g.emit('Reshape', [requireGo(g), g.emit('Concat', parts, { axis: attr.int(0) })]);
    reduceSum(g, blocks, blockAxes, false, g.gi(0));
  },
};
