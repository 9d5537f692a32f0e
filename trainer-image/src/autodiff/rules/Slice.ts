// Slice: y = x[starts:ends:steps] on `axes` (inputs from opset 10), so dx scatters dy back into zeros shaped like
// x. With unit steps that is a zero Pad: before = the resolved start, after = dim − the resolved end (negative
// indices wrap, then clamp to [0, dim]; static when starts, ends and dims are known). Other steps scatter per
// axis with ScatterElements at the indices Slice picks from a Range. Starts/ends/axes/steps get no gradient.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { constInts, normAxis, requireGo } from './helpers.ts';

interface SliceSpec {
  readonly axes: readonly number[];
  readonly steps: readonly number[];
}

function readSpec(g: GradContext, rank: number): SliceSpec {
  const optional = (k: number): string => (g.inputCount > k ? g.i(k) : '');
  const starts = g.i(1);
  let count = constInts(g, starts)?.length;
  if (count === undefined) {
    const d = g.dims(starts)[0];
    if (typeof d === 'number') count = d;
  }
  const axesName = optional(3);
  const axes = axesName === '' ? undefined : constInts(g, axesName);
  if (axesName !== '' && axes === undefined) {
    throw new Error(`Slice node '${g.nodeName}': gradient needs constant axes`);
  }
  const n = axes?.length ?? count;
  if (n === undefined)
    throw new Error(`Slice node '${g.nodeName}': gradient needs the number of sliced axes`);
  const stepsName = optional(4);
  const steps = stepsName === '' ? new Array<number>(n).fill(1) : constInts(g, stepsName);
  if (steps === undefined) throw new Error(`Slice node '${g.nodeName}': gradient needs constant steps`);
  return { axes: (axes ?? Array.from({ length: n }, (_, i) => i)).map((a) => normAxis(a, rank)), steps };
}

const asInt64 = (g: GradContext, name: string): string =>
  g.dataType(name) === 7 ? name : g.emit('Cast', [name], { to: attr.int(7) });

/** Pads for a unit-step slice, as constants when everything is static, else computed at run time. */
function padsFor(g: GradContext, spec: SliceSpec, rank: number): string {
  const x = g.i(0);
  const dims = g.dims(x);
  const starts = constInts(g, g.i(1));
  const ends = constInts(g, g.i(2));
  const staticDims = spec.axes.map((a) => dims[a]);
  if (starts !== undefined && ends !== undefined && staticDims.every((d) => typeof d === 'number')) {
    const pads = new Array<number>(2 * rank).fill(0);
    spec.axes.forEach((a, j) => {
      const dim = staticDims[j] as number;
      const resolve = (v: number): number => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
      const start = resolve(starts[j] ?? 0);
      const end = Math.max(resolve(ends[j] ?? dim), start);
      pads[a] = start;
      pads[rank + a] = dim - end;
    });
    return g.int64s(pads);
  }
  const axes = g.int64s(spec.axes);
  const dimsSel = g.emit('Gather', [g.emit('Shape', [x]), axes]);
  const zero = g.int64s([0]);
  const resolve = (v: string): string => {
    const wrapped = g.emit('Where', [g.emit('Less', [v, zero]), g.emit('Add', [v, dimsSel]), v]);
    return g.emit('Max', [g.emit('Min', [wrapped, dimsSel]), zero]);
  };
  const start = resolve(asInt64(g, g.i(1)));
  const end = g.emit('Max', [resolve(asInt64(g, g.i(2))), start]);
  const zeros = g.int64s(new Array<number>(rank).fill(0));
  const scatter = (v: string): string => g.emit('ScatterElements', [zeros, axes, v], { axis: attr.int(0) });
  return g.emit('Concat', [scatter(start), scatter(g.emit('Sub', [dimsSel, end]))], { axis: attr.int(0) });
}

/** Scatters `grad` (sliced on `axis`) back to x's extent on that axis at the positions the slice took. */
function scatterAxis(
  g: GradContext,
  grad: string,
  axis: number,
  j: number,
  rank: number,
  step: number,
): string {
  const x = g.i(0);
  const shapeX = g.emit('Shape', [x]);
  const dimScalar = g.emit('Gather', [shapeX, g.constant({ dataType: 7, dims: [], values: [BigInt(axis)] })]);
  const ramp = g.emit('Range', [
    g.constant({ dataType: 7, dims: [], values: [0n] }),
    dimScalar,
    g.constant({ dataType: 7, dims: [], values: [1n] }),
  ]);
  const pick = (k: number): string => {
    const c = constInts(g, g.i(k));
    const v = c?.[j];
    if (v !== undefined) return g.int64s([v]);
    return g.emit('Slice', [asInt64(g, g.i(k)), g.int64s([j]), g.int64s([j + 1])]);
  };
  const idx = g.emit('Slice', [ramp, pick(1), pick(2), g.int64s([0]), g.int64s([step])]);
  const unitShape = Array.from({ length: rank }, (_, i) => (i === axis ? -1 : 1));
  const shapeGrad = g.emit('Shape', [grad]);
  const indices = g.emit('Expand', [g.emit('Reshape', [idx, g.int64s(unitShape)]), shapeGrad]);
  const fullShape = g.emit(
    'ScatterElements',
    [shapeGrad, g.int64s([axis]), g.emit('Gather', [shapeX, g.int64s([axis])])],
    {
      axis: attr.int(0),
    },
  );
  const zeros = g.emit('ConstantOfShape', [fullShape], {
    value: attr.tensor({ dataType: g.dataType(x), dims: [1], values: [0] }),
  });
  return g.emit('ScatterElements', [zeros, indices, grad], { axis: attr.int(axis) });
}

export const sliceGrad: GradRule = {
  opType: 'Slice',
  nonDifferentiableInputs: [1, 2, 3, 4],
  build: (g) => {
    if (!g.needs(0)) return;
    const rank = g.rank(g.i(0));
    const spec = readSpec(g, rank);
    const go = requireGo(g);
    if (spec.steps.every((s) => s === 1)) {
      g.emit('Pad', [go, padsFor(g, spec, rank)], {}, [g.gi(0)]);
      return;
    }
    let grad = go;
    spec.axes.forEach((axis, j) => {
      grad = scatterAxis(g, grad, axis, j, rank, spec.steps[j] ?? 1);
    });
    g.bind(grad, g.gi(0));
  },
};
