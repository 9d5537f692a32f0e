// Conv: Y = X ⋆ W + B (groups, strides s, pads, dilations d; N-d). dB = Σ dY over all but the channel axis.
// dX = ConvTranspose(dY, W) with the same attributes; when (H + pads − effective kernel) mod s = ρ > 0 the last ρ
// rows were never fully visited, so output_padding = ρ restores X's extent (run-time Slice + Pad when dims are not
// static). dW[m, c, j] = Σ_n,o X[n, c, o·s + j·d]·dY[n, m, o]: a Conv of X (channels as the batch) with dY as the
// kernel, strides and dilations swapped, cropped to the kernel size; groups are folded into the batch axis.
// With unit strides and one group, dX is also a plain Conv of dY with W's channel axes swapped and its taps
// flipped, padded ek − 1 − pad (ek the effective kernel extent): the same sums as ConvTranspose, and onnxruntime's
// CPU runs Conv in its blocked (NCHWc) layout where its ConvTranspose is a slower im2col path (the flipped weight
// of a frozen layer folds to a constant at session start).
import type { Attr, GradContext, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { reduceSum, requireGo } from './helpers.ts';

interface ConvGeometry {
  readonly sp: number;
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** [begin₀ … begin_k, end₀ … end_k] */
  readonly pads: readonly number[];
  readonly group: number;
}

function geometry(g: GradContext): ConvGeometry {
  const x = g.i(0);
  const sp = g.rank(x) - 2;
  const ones = new Array<number>(sp).fill(1);
  const wDims = g.dims(g.i(1)).slice(2);
  const kernel = g.hasAttr('kernel_shape')
    ? g.attrInts('kernel_shape')
    : wDims.map((d) => {
        if (typeof d !== 'number') throw new Error(`Conv node '${g.nodeName}': kernel shape unknown`);
        return d;
      });
  const strides = g.attrInts('strides', ones);
  const dilations = g.attrInts('dilations', ones);
  const autoPad = g.attrString('auto_pad', 'NOTSET');
  let pads: readonly number[] = g.attrInts('pads', new Array<number>(2 * sp).fill(0));
  if (autoPad === 'VALID') pads = new Array<number>(2 * sp).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const dims = g.dims(x).slice(2);
    const begins: number[] = [];
    const ends: number[] = [];
    dims.forEach((h, i) => {
      if (typeof h !== 'number')
        throw new Error(`Conv node '${g.nodeName}': auto_pad ${autoPad} needs static dims`);
      const s = strides[i] ?? 1;
      const ek = ((kernel[i] ?? 1) - 1) * (dilations[i] ?? 1) + 1;
      const total = Math.max((Math.ceil(h / s) - 1) * s + ek - h, 0);
      const small = Math.floor(total / 2);
      begins.push(autoPad === 'SAME_UPPER' ? small : total - small);
      ends.push(autoPad === 'SAME_UPPER' ? total - small : small);
    });
    pads = [...begins, ...ends];
  } else if (autoPad !== 'NOTSET') throw new Error(`Conv node '${g.nodeName}': unknown auto_pad ${autoPad}`);
  return { sp, kernel, strides, dilations, pads, group: g.attrInt('group', 1) };
}

const sliceVec = (g: GradContext, v: string, start: number, end: number): string =>
  g.emit('Slice', [v, g.int64s([start]), g.int64s([end])]);

/** dX as Conv(dY, flip(Wᵀ)) for unit strides and one group; false when the pads do not allow it. */
function flippedConv(g: GradContext, geo: ConvGeometry, dy: string): boolean {
  const { sp, strides, dilations, pads, group, kernel } = geo;
  if (group !== 1 || strides.some((s) => s !== 1)) return false;
  const extent = kernel.map((k, i) => (k - 1) * (dilations[i] ?? 1) + 1);
  const newPads = pads.map((p, i) => (extent[i % sp] ?? 1) - 1 - p);
  if (newPads.some((p) => p < 0)) return false;
  const spatial = Array.from({ length: sp }, (_, i) => i + 2);
  const swapped = g.emit('Transpose', [g.i(1)], { perm: attr.ints([1, 0, ...spatial]) });
  const flipped = g.emit('Slice', [
    swapped,
    g.int64s(new Array<number>(sp).fill(-1)),
    g.int64s(new Array<number>(sp).fill(-(2 ** 31))),
    g.int64s(spatial),
    g.int64s(new Array<number>(sp).fill(-1)),
  ]);
  const attrs = {
    dilations: attr.ints(dilations),
    kernel_shape: attr.ints(kernel),
    pads: attr.ints(newPads),
  };
  g.emit('Conv', [dy, flipped], attrs, [g.gi(0)]);
  return true;
}

function inputGrad(g: GradContext, geo: ConvGeometry, dy: string): void {
  const x = g.i(0);
  const { sp, strides, dilations, pads, group, kernel } = geo;
  // The flipped weight is a transposed copy onnxruntime folds at session start; 'reference' keeps W as stored.
  if (g.frozenWeights !== 'reference' && flippedConv(g, geo, dy)) return;
  const base = {
    strides: attr.ints(strides),
    dilations: attr.ints(dilations),
    group: attr.int(group),
    kernel_shape: attr.ints(kernel),
  };
  const dims = g.dims(x).slice(2);
  const remainders: number[] = [];
  const allStatic = dims.every((h, i) => {
    if ((strides[i] ?? 1) === 1) {
      remainders.push(0);
      return true;
    }
    if (typeof h !== 'number') return false;
    const ek = ((kernel[i] ?? 1) - 1) * (dilations[i] ?? 1) + 1;
    remainders.push((h + (pads[i] ?? 0) + (pads[sp + i] ?? 0) - ek) % (strides[i] ?? 1));
    return true;
  });
  if (allStatic) {
    const attrs: Record<string, Attr> = { ...base, pads: attr.ints(pads) };
    if (remainders.some((r) => r !== 0)) attrs.output_padding = attr.ints(remainders);
    g.emit('ConvTranspose', [dy, g.i(1)], attrs, [g.gi(0)]);
    return;
  }
  // Dims unknown: crop nothing at the end, cut to X's extent, then zero-pad what no window reached (if any can be).
  const beginsOnly = [...pads.slice(0, sp), ...new Array<number>(sp).fill(0)];
  const full = g.emit('ConvTranspose', [dy, g.i(1)], { ...base, pads: attr.ints(beginsOnly) });
  const spatialAxes = Array.from({ length: sp }, (_, i) => i + 2);
  const xSpatial = sliceVec(g, g.emit('Shape', [x]), 2, 2 + sp);
  const zeros = g.int64s(new Array<number>(sp).fill(0));
  // With end pads ≥ s − 1 the transposed conv already reaches X's last row (ρ ≤ s − 1): cutting is enough.
  const reachesEnd = strides.every((s, i) => (pads[sp + i] ?? 0) >= s - 1);
  if (reachesEnd) {
    g.emit('Slice', [full, zeros, xSpatial, g.int64s(spatialAxes)], {}, [g.gi(0)]);
    return;
  }
  const cut = g.emit('Slice', [full, zeros, xSpatial, g.int64s(spatialAxes)]);
  const missing = g.emit('Sub', [xSpatial, sliceVec(g, g.emit('Shape', [cut]), 2, 2 + sp)]);
  const pad = g.emit('Concat', [g.int64s(new Array<number>(sp + 4).fill(0)), missing], { axis: attr.int(0) });
  g.emit('Pad', [cut, pad], {}, [g.gi(0)]);
}

function weightGrad(g: GradContext, geo: ConvGeometry, dy: string): void {
  const x = g.i(0);
  const w = g.i(1);
  const { sp, strides, dilations, pads, group } = geo;
  const rest = Array.from({ length: sp }, (_, i) => i + 2);
  const swap = attr.ints([1, 0, ...rest]);
  let xb: string;
  let kernel: string;
  if (group === 1) {
    xb = g.emit('Transpose', [x], { perm: swap });
    kernel = g.emit('Transpose', [dy], { perm: swap });
  } else {
    // X [N, C, …] → [C/G, G·N, …] and dY [N, M, …] → [M, N, …] ordered group-major, so group j pairs X's
    // channels of group j with dY's channels of group j.
    const cat = (parts: string[]): string => g.emit('Concat', parts, { axis: attr.int(0) });
    const shapeX = g.emit('Shape', [x]);
    const shapeY = g.emit('Shape', [dy]);
    const shapeW = g.emit('Shape', [w]);
    const groups = g.int64s([group]);
    const minus1 = g.int64s([-1]);
    const splitX = g.emit('Reshape', [
      x,
      cat([sliceVec(g, shapeX, 0, 1), groups, minus1, sliceVec(g, shapeX, 2, 2 + sp)]),
    ]);
    const movedX = g.emit('Transpose', [splitX], { perm: attr.ints([2, 1, 0, ...rest.map((a) => a + 1)]) });
    xb = g.emit('Reshape', [
      movedX,
      cat([sliceVec(g, shapeW, 1, 2), minus1, sliceVec(g, shapeX, 2, 2 + sp)]),
    ]);
    const splitY = g.emit('Reshape', [
      dy,
      cat([sliceVec(g, shapeY, 0, 1), groups, minus1, sliceVec(g, shapeY, 2, 2 + sp)]),
    ]);
    const movedY = g.emit('Transpose', [splitY], { perm: attr.ints([1, 2, 0, ...rest.map((a) => a + 1)]) });
    kernel = g.emit('Reshape', [
      movedY,
      cat([sliceVec(g, shapeW, 0, 1), minus1, sliceVec(g, shapeY, 2, 2 + sp)]),
    ]);
  }
  const attrs = {
    strides: attr.ints(dilations),
    dilations: attr.ints(strides),
    pads: attr.ints(pads),
    group: attr.int(group),
  };
  const taps = g.emit('Conv', [xb, kernel], attrs);
  const kernelDims = sliceVec(g, g.emit('Shape', [w]), 2, 2 + sp);
  const cropped = g.emit('Slice', [
    taps,
    g.int64s(new Array<number>(sp).fill(0)),
    kernelDims,
    g.int64s(rest),
  ]);
  g.emit('Transpose', [cropped], { perm: swap }, [g.gi(1)]);
}

export const convGrad: GradRule = {
  opType: 'Conv',
  build: (g) => {
    const dy = requireGo(g);
    const b = g.inputCount > 2 ? g.i(2) : '';
    const geo = geometry(g);
    if (b !== '' && g.needs(2)) {
      reduceSum(g, dy, [0, ...Array.from({ length: geo.sp }, (_, i) => i + 2)], false, g.gi(2));
    }
    if (g.needs(0)) inputGrad(g, geo, dy);
    if (g.needs(1)) weightGrad(g, geo, dy);
  },
};
