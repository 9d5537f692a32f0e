// Pad, constant mode: y = x with pads added (negative pads crop), so dx = the part of dy that came from x: dy
// sliced from max(begin, 0) for dimₖ − max(−begin, 0) − max(−end, 0) elements, then zero-padded by the cropped
// max(−begin, 0), max(−end, 0). Pads (and the opset-18 axes) may be run-time tensors; reflect/edge/wrap modes
// are an error. pads, constant_value and axes get no gradient.
import type { GradContext, GradRule } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';
import { constInts, normAxis, requireGo } from './helpers.ts';

/** Full-rank begin and end pads as INT64 [rank] tensors. */
function fullPads(g: GradContext, rank: number): { begin: string; end: string } {
  const pads = g.i(1);
  const axesName = g.inputCount > 3 ? g.i(3) : '';
  const known = constInts(g, pads);
  if (axesName === '') {
    if (known !== undefined)
      return { begin: g.int64s(known.slice(0, rank)), end: g.int64s(known.slice(rank)) };
    const cut = (s: number, e: number) => g.emit('Slice', [pads, g.int64s([s]), g.int64s([e])]);
    return { begin: cut(0, rank), end: cut(rank, 2 * rank) };
  }
  const axes = constInts(g, axesName)?.map((a) => normAxis(a, rank));
  if (axes === undefined) throw new Error(`Pad node '${g.nodeName}': gradient needs constant axes`);
  const n = axes.length;
  const zeros = g.int64s(new Array<number>(rank).fill(0));
  const at = g.int64s(axes);
  const spread = (s: number): string => {
    const part = g.emit('Slice', [pads, g.int64s([s]), g.int64s([s + n])]);
    return g.emit('ScatterElements', [zeros, at, part], { axis: attr.int(0) });
  };
  return { begin: spread(0), end: spread(n) };
}

export const padGrad: GradRule = {
  opType: 'Pad',
  nonDifferentiableInputs: [1, 2, 3],
  build: (g) => {
    if (!g.needs(0)) return;
    const mode = g.attrString('mode', 'constant');
    if (mode !== 'constant') throw new Error(`Pad node '${g.nodeName}': no gradient for mode ${mode}`);
    const x = g.i(0);
    const rank = g.rank(x);
    const { begin, end } = fullPads(g, rank);
    const zero = g.int64s([0]);
    const start = g.emit('Max', [begin, zero]);
    const cropBegin = g.emit('Max', [g.emit('Neg', [begin]), zero]);
    const cropEnd = g.emit('Max', [g.emit('Neg', [end]), zero]);
    const kept = g.emit('Sub', [g.emit('Sub', [g.emit('Shape', [x]), cropBegin]), cropEnd]);
    const stop = g.emit('Add', [start, kept]);
    const inner = g.emit('Slice', [
      requireGo(g),
      start,
      stop,
      g.int64s(Array.from({ length: rank }, (_, k) => k)),
    ]);
    const refill = g.emit('Concat', [cropBegin, cropEnd], { axis: attr.int(0) });
    g.emit('Pad', [inner, refill], {}, [g.gi(0)]);
  },
};
