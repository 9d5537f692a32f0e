// Shape rules of the reductions: Reduce* (axes as an attribute or, from ReduceSum-13 and the others' opset 18,
// as an input; keepdims, noop_with_empty_axes), ArgMax/ArgMin and TopK.
import { DataType } from '../model.ts';
import type { Dim } from '../typed-values.ts';
import { forOps, intAttr, intsAttr, normAxis, type ShapeRule, type ShapeRuleEntry } from './shape-rule.ts';

const REDUCE_OPS = [
  'ReduceSum',
  'ReduceMean',
  'ReduceMax',
  'ReduceMin',
  'ReduceProd',
  'ReduceL1',
  'ReduceL2',
  'ReduceLogSum',
  'ReduceLogSumExp',
  'ReduceSumSquare',
];

const reduce: ShapeRule = ({ node, opset, x, numbersOf }) => {
  const axesAsInput = node.opType === 'ReduceSum' ? opset >= 13 : opset >= 18;
  const hasAxesInput = axesAsInput && !!node.inputs[1];
  const axes = axesAsInput ? (hasAxesInput ? numbersOf(1) : undefined) : intsAttr(node, 'axes');
  const keep = intAttr(node, 'keepdims', 1) === 1;
  const noop = intAttr(node, 'noop_with_empty_axes', 0) === 1;
  const d = x?.dims;
  let dims: Dim[] | undefined;
  if (d && (!hasAxesInput || axes)) dims = reduceDims(d, axes, keep, noop);
  else if (d && keep) dims = d.map(() => undefined);
  return [{ dataType: x?.dataType ?? 0, dims }];
};

const argReduce: ShapeRule = ({ node, x }) => {
  const d = x?.dims;
  const keep = intAttr(node, 'keepdims', 1) === 1;
  const dims = d ? reduceDims(d, [intAttr(node, 'axis', 0)], keep, false) : undefined;
  return [{ dataType: DataType.INT64, dims }];
};

const topK: ShapeRule = ({ node, x, numbersOf }) => {
  const d = x?.dims;
  const k = numbersOf(1)?.[0];
  const axis = d ? normAxis(intAttr(node, 'axis', -1), d.length) : 0;
  const dims = d ? d.map((v, i) => (i === axis ? k : v)) : undefined;
  return [
    { dataType: x?.dataType ?? 0, dims },
    { dataType: DataType.INT64, dims },
  ];
};

function reduceDims(
  dims: readonly Dim[],
  axes: readonly number[] | undefined,
  keep: boolean,
  noop: boolean,
): Dim[] {
  if (!axes || axes.length === 0) {
    if (noop) return [...dims];
    return keep ? dims.map(() => 1) : [];
  }
  const set = new Set(axes.map((a) => normAxis(a, dims.length)));
  const out: Dim[] = [];
  dims.forEach((d, i) => {
    if (!set.has(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

export const REDUCE_SHAPE_RULES: readonly ShapeRuleEntry[] = [
  ...forOps(REDUCE_OPS, reduce),
  ...forOps(['ArgMax', 'ArgMin'], argReduce),
  ['TopK', topK],
];
