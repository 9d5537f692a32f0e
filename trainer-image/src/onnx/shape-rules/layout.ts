// Shape rules of the ops that rearrange one tensor: Transpose, Reshape (0 and -1 resolved, symbolic products
// divided), Flatten, Squeeze/Unsqueeze (attribute or input axes), Expand and Tile. Folded values pass through.
import type { Dim } from '../typed-values.ts';
import { broadcastDims, divideProducts, product } from './dims.ts';
import { forOps, intAttr, intsAttr, normAxis, type ShapeRule, type ShapeRuleEntry } from './shape-rule.ts';

const transpose: ShapeRule = ({ node, x }) => {
  const d = x?.dims;
  if (!d) return [{ dataType: x?.dataType ?? 0, dims: undefined }];
  const perm = intsAttr(node, 'perm') ?? d.map((_, i) => d.length - 1 - i);
  return [{ dataType: x?.dataType ?? 0, dims: perm.map((p) => d[p]) }];
};

const reshape: ShapeRule = ({ node, x, dimsOf, symOf }) => {
  const shape = symOf(1);
  const shapeDims = dimsOf(1);
  const d = x?.dims;
  let dims: Dim[] | undefined;
  if (shape) {
    const allowZero = intAttr(node, 'allowzero', 0) === 1;
    dims = shape.map((s, i) => (s === 0 && !allowZero ? d?.[i] : s));
    const minus = dims.indexOf(-1);
    if (minus >= 0) {
      const rest = dims.filter((_, i) => i !== minus);
      dims[minus] = d ? divideProducts(d, rest) : undefined;
    }
  } else if (shapeDims && typeof shapeDims[0] === 'number') {
    dims = new Array(shapeDims[0]).fill(undefined);
  }
  const sym = x?.sym && dims && dims.length <= 1 ? { sym: x.sym } : {};
  return [{ dataType: x?.dataType ?? 0, dims, ...sym }];
};

const flatten: ShapeRule = ({ node, x }) => {
  const d = x?.dims;
  if (!d) return [{ dataType: x?.dataType ?? 0, dims: [undefined, undefined] }];
  const axis = normAxis(intAttr(node, 'axis', 1), d.length);
  const head = product(d.slice(0, axis));
  const tail = product(d.slice(axis));
  const asDim = (p: typeof head): Dim =>
    p === undefined
      ? undefined
      : p.syms.length === 0
        ? p.coef
        : p.syms.length === 1 && p.coef === 1
          ? p.syms[0]
          : undefined;
  return [{ dataType: x?.dataType ?? 0, dims: [asDim(head), asDim(tail)] }];
};

const squeezeOrUnsqueeze: ShapeRule = ({ node, opset, x, numbersOf }) => {
  const axes = opset >= 13 && node.inputs.length > 1 ? numbersOf(1) : intsAttr(node, 'axes');
  const d = x?.dims;
  let dims: Dim[] | undefined;
  if (d && node.opType === 'Squeeze') {
    if (axes) {
      const set = new Set(axes.map((a) => normAxis(a, d.length)));
      dims = d.filter((_, i) => !set.has(i));
    } else if (d.every((v) => typeof v === 'number')) {
      dims = d.filter((v) => v !== 1);
    }
  } else if (d && axes) {
    const rank = d.length + axes.length;
    const set = new Set(axes.map((a) => normAxis(a, rank)));
    const it = d[Symbol.iterator]();
    dims = Array.from({ length: rank }, (_, i) => (set.has(i) ? 1 : it.next().value));
  }
  const sym = x?.sym ? { sym: x.sym } : {};
  return [{ dataType: x?.dataType ?? 0, dims, ...sym }];
};

const expand: ShapeRule = ({ x, dimsOf, symOf }) => {
  const shape = symOf(1);
  const shapeLen = dimsOf(1)?.[0];
  let dims: Dim[] | undefined;
  if (shape) dims = broadcastDims([x?.dims, shape.map((s) => (s === -1 ? 1 : s))]);
  else if (typeof shapeLen === 'number' && x?.dims) {
    dims = new Array(Math.max(shapeLen, x.dims.length)).fill(undefined);
  }
  return [{ dataType: x?.dataType ?? 0, dims }];
};

const tile: ShapeRule = ({ x, numbersOf }) => {
  const d = x?.dims;
  const reps = numbersOf(1);
  return [
    {
      dataType: x?.dataType ?? 0,
      dims: d ? d.map((v, i) => (reps && typeof v === 'number' ? v * (reps[i] ?? 1) : undefined)) : undefined,
    },
  ];
};

export const LAYOUT_SHAPE_RULES: readonly ShapeRuleEntry[] = [
  ['Transpose', transpose],
  ['Reshape', reshape],
  ['Flatten', flatten],
  ...forOps(['Squeeze', 'Unsqueeze'], squeezeOrUnsqueeze),
  ['Expand', expand],
  ['Tile', tile],
];
