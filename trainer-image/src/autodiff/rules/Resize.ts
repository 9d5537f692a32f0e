// Resize, nearest mode with integer scale factors (the UNet's 2× upsampling): every output pixel copies the input
// pixel of its block, so dx sums dy over each s×…×s block — dy reshaped to [.., H, s, W, s, ..] and ReduceSum
// over the s axes. The rule first checks, for the node's coordinate_transformation_mode and nearest_mode, that
// the source index of output i is ⌊i / s⌋ (true for asymmetric+floor and half_pixel+round, not for align_corners);
// scales come from the scales input, or from constant sizes over static input dims. Other modes are an error.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { constInts, normAxis, reduceSum, requireGo } from './helpers.ts';

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

function scaleFactors(g: GradContext, rank: number): number[] {
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
  axes.forEach((a, j) => {
    const n = inDims[a];
    const m = sizes?.[j] ?? outDims[a];
    if (typeof n !== 'number' || typeof m !== 'number') {
      throw new Error(`Resize node '${g.nodeName}': gradient needs constant scales or static sizes`);
    }
    full[a] = m / n;
  });
  return full;
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
    const scales = scaleFactors(g, rank);
    const fail = (why: string): Error => new Error(`Resize node '${g.nodeName}': no gradient for ${why}`);
    if (mode !== 'nearest') throw fail(`mode ${mode}`);
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
