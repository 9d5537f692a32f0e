// Shape rules of the ops that cut, join or pad along axes: Concat, Split, Slice, Gather, GatherElements and Pad.
// On small integer tensors they also fold the values (shape vectors are sliced, gathered and concatenated).
import type { Dim } from '../typed-values.ts';
import { intAttr, intsAttr, normAxis, type ShapeRule, type ShapeRuleEntry } from './shape-rule.ts';

const concat: ShapeRule = ({ node, x, dimsOf, symOf }) => {
  const all = node.inputs.map((_, k) => dimsOf(k));
  const first = all.find((d) => d !== undefined);
  let dims: Dim[] | undefined;
  if (first && all.every((d) => d !== undefined)) {
    const axis = normAxis(intAttr(node, 'axis', 0), first.length);
    dims = first.map((_, i) => {
      if (i !== axis) {
        const known = all.map((d) => d?.[i]).find((v) => v !== undefined);
        return known;
      }
      const parts = all.map((d) => d?.[i]);
      return parts.every((p) => typeof p === 'number')
        ? (parts as number[]).reduce((a, b) => a + b, 0)
        : undefined;
    });
  }
  const syms = node.inputs.map((_, k) => symOf(k));
  const sym = syms.every((s) => s !== undefined) ? { sym: (syms as Dim[][]).flat() } : {};
  return [{ dataType: x?.dataType ?? 0, dims, ...sym }];
};

const split: ShapeRule = ({ node, opset, x, numbersOf }) => {
  const d = x?.dims;
  const count = node.outputs.length;
  const axis = d ? normAxis(intAttr(node, 'axis', 0), d.length) : 0;
  const sizes = (opset >= 13 && node.inputs[1] ? numbersOf(1) : intsAttr(node, 'split')) ?? undefined;
  return node.outputs.map((_, k) => {
    if (!d) return { dataType: x?.dataType ?? 0, dims: undefined };
    const size = d[axis];
    let part: Dim;
    if (sizes) part = sizes[k];
    else if (typeof size === 'number') {
      const chunk = Math.ceil(size / count);
      part = k < count - 1 ? chunk : size - chunk * (count - 1);
    }
    return { dataType: x?.dataType ?? 0, dims: d.map((v, i) => (i === axis ? part : v)) };
  });
};

const slice: ShapeRule = ({ node, opset, x, numbersOf }) => {
  const d = x?.dims;
  const starts = opset >= 10 ? numbersOf(1) : intsAttr(node, 'starts');
  const ends = opset >= 10 ? numbersOf(2) : intsAttr(node, 'ends');
  const axesIn = opset >= 10 ? (node.inputs[3] ? numbersOf(3) : undefined) : intsAttr(node, 'axes');
  const stepsIn = opset >= 10 && node.inputs[4] ? numbersOf(4) : undefined;
  const hasAxesInput = opset >= 10 && !!node.inputs[3];
  const hasStepsInput = opset >= 10 && !!node.inputs[4];
  let dims: Dim[] | undefined;
  let sym: Dim[] | undefined;
  if (d && starts && ends && (!hasAxesInput || axesIn) && (!hasStepsInput || stepsIn)) {
    const axes = axesIn ?? starts.map((_, i) => i);
    const out = [...d];
    axes.forEach((a, i) => {
      const axis = normAxis(a, d.length);
      out[axis] = sliceDim(d[axis], starts[i] ?? 0, ends[i] ?? 0, stepsIn?.[i] ?? 1);
    });
    dims = out;
    const s = x?.sym;
    if (s && d.length === 1 && (stepsIn?.[0] ?? 1) === 1) {
      const n = s.length;
      const st = Math.min(Math.max((starts[0] ?? 0) < 0 ? (starts[0] ?? 0) + n : (starts[0] ?? 0), 0), n);
      const en = Math.min(Math.max((ends[0] ?? 0) < 0 ? (ends[0] ?? 0) + n : (ends[0] ?? 0), 0), n);
      sym = s.slice(st, en);
    }
  } else if (d) {
    dims = d.map(() => undefined);
  }
  return [{ dataType: x?.dataType ?? 0, dims, ...(sym ? { sym } : {}) }];
};

function sliceDim(size: Dim, start: number, end: number, step: number): Dim {
  if (typeof size !== 'number') {
    // Slicing a symbolic axis with explicit non-negative bounds still has a known length.
    if (step === 1 && start >= 0 && end >= 0 && end < 2 ** 31) return Math.max(0, end - start);
    return undefined;
  }
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + size : start;
  let e = end < 0 ? end + size : end;
  if (step > 0) {
    s = clamp(s, 0, size);
    e = clamp(e, 0, size);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clamp(s, -1, size - 1);
  e = clamp(e, -1, size - 1);
  return Math.max(0, Math.ceil((e - s) / step));
}

const gather: ShapeRule = ({ node, x, dimsOf, numbersOf }) => {
  const d = x?.dims;
  const idx = dimsOf(1);
  let dims: Dim[] | undefined;
  const axis = d ? normAxis(intAttr(node, 'axis', 0), d.length) : 0;
  if (d && idx) dims = [...d.slice(0, axis), ...idx, ...d.slice(axis + 1)];
  let sym: Dim[] | undefined;
  const s = x?.sym;
  const indices = numbersOf(1);
  if (s && indices && d?.length === 1) sym = indices.map((i) => s[i < 0 ? i + s.length : i]);
  return [{ dataType: x?.dataType ?? 0, dims, ...(sym ? { sym } : {}) }];
};

const gatherElements: ShapeRule = ({ x, dimsOf }) => [{ dataType: x?.dataType ?? 0, dims: dimsOf(1) }];

const pad: ShapeRule = ({ node, opset, x, numbersOf }) => {
  const d = x?.dims;
  const pads = opset >= 11 ? numbersOf(1) : intsAttr(node, 'pads');
  const hasAxes = opset >= 18 && !!node.inputs[3];
  return [
    {
      dataType: x?.dataType ?? 0,
      dims: d
        ? d.map((v, i) =>
            pads && !hasAxes && typeof v === 'number'
              ? v + (pads[i] ?? 0) + (pads[i + d.length] ?? 0)
              : undefined,
          )
        : undefined,
    },
  ];
};

export const SLICING_SHAPE_RULES: readonly ShapeRuleEntry[] = [
  ['Concat', concat],
  ['Split', split],
  ['Slice', slice],
  ['Gather', gather],
  ['GatherElements', gatherElements],
  ['Pad', pad],
];
