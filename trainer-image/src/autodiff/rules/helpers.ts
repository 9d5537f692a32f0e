// Small emitters the rules share: opset-aware ReduceSum/ReduceMean/Squeeze/Unsqueeze, transposes of the last two
// axes, and the output gradient a single-output rule requires. Kept here so each rule file stays one derivative.
import type { GradContext } from '../grad-rule.ts';
import { attr } from '../grad-rule.ts';

/** The gradient of output k; a rule for an op whose output gets no gradient is never asked to run. */
export function requireGo(g: GradContext, k = 0): string {
  const go = g.go(k);
  if (go === undefined) {
    throw new Error(`${g.opType} node '${g.nodeName}': no gradient reaches output ${k}`);
  }
  return go;
}

/** Normalizes a possibly negative axis against a rank. */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** ReduceSum over `axes` (axes as an input from opset 13, as an attribute before). */
export function reduceSum(g: GradContext, x: string, axes: readonly number[], keepdims: boolean): string {
  const kd = { keepdims: attr.int(keepdims ? 1 : 0) };
  if (g.opset >= 13) return g.emit('ReduceSum', [x, g.int64s(axes)], kd);
  return g.emit('ReduceSum', [x], { ...kd, axes: attr.ints(axes) });
}

/** Unsqueeze at `axes` (an input from opset 13, an attribute before). */
export function unsqueeze(g: GradContext, x: string, axes: readonly number[]): string {
  if (g.opset >= 13) return g.emit('Unsqueeze', [x, g.int64s(axes)]);
  return g.emit('Unsqueeze', [x], { axes: attr.ints(axes) });
}

/** Squeeze at `axes` (an input from opset 13, an attribute before). */
export function squeeze(g: GradContext, x: string, axes: readonly number[]): string {
  if (g.opset >= 13) return g.emit('Squeeze', [x, g.int64s(axes)]);
  return g.emit('Squeeze', [x], { axes: attr.ints(axes) });
}

/** Swaps the last two axes of a tensor of rank `rank` (≥ 2). */
export function transposeLast2(g: GradContext, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return g.emit('Transpose', [x], { perm: attr.ints(perm) });
}

/** Reshape `x` to the runtime shape of `like` (allowzero from opset 14 so empty dims stay empty). */
export function reshapeLike(g: GradContext, x: string, like: string): string {
  const shape = g.emit('Shape', [like]);
  return g.opset >= 14
    ? g.emit('Reshape', [x, shape], { allowzero: attr.int(1) })
    : g.emit('Reshape', [x, shape]);
}

/** Reads a constant INT64 (or any integer) 1-D input as plain numbers, or undefined when it is not constant. */
export function constInts(g: GradContext, name: string): number[] | undefined {
  if (name === '') return undefined;
  const c = g.constValue(name);
  if (c === undefined) return undefined;
  return Array.from(c.values as ArrayLike<number | bigint>, (v) => Number(v));
}
