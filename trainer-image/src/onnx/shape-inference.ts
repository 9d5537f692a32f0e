// Static dtype/rank/dims knowledge for every tensor of a graph, without onnxruntime: a forward pass over the
// nodes with per-op shape rules, plus folding of the small integer "shape arithmetic" tensors (Shape → Gather →
// Unsqueeze → Concat → Reshape) that TorchScript exports are full of, with symbolic dims ('batch') kept as
// symbols. The export's value_info is used only where a rule cannot tell. Unknown stays undefined, never guessed.

import { DataType, type OnnxAttribute, type OnnxGraph, type OnnxNode } from './model.ts';
import { decodeValues } from './tensor-values.ts';
import type { ConstTensor, Dim } from './typed-values.ts';

export interface TensorInfo {
  readonly dataType: number;
  /** Undefined when even the rank is unknown. */
  readonly dims: readonly Dim[] | undefined;
  /** For small integer tensors of rank ≤ 1: the (possibly symbolic) element values. */
  readonly sym?: readonly Dim[];
  /** For small float constants of rank ≤ 1 (Resize scales): their values. */
  readonly floats?: readonly number[];
}

const SMALL = 64;

export type InfoMap = Map<string, TensorInfo>;

function attrOf(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes[name];
}
function intAttr(node: OnnxNode, name: string, fallback: number): number {
  const a = attrOf(node, name);
  return a?.type === 'int' ? a.value : fallback;
}
function intsAttr(node: OnnxNode, name: string): readonly number[] | undefined {
  const a = attrOf(node, name);
  return a?.type === 'ints' ? a.value : undefined;
}
function floatsAttr(node: OnnxNode, name: string): readonly number[] | undefined {
  const a = attrOf(node, name);
  return a?.type === 'floats' ? a.value : undefined;
}

function isIntType(t: number): boolean {
  return t === DataType.INT64 || t === DataType.INT32;
}

function symFromConst(value: ConstTensor): Dim[] | undefined {
  if (!isIntType(value.dataType) || value.dims.length > 1 || value.values.length > SMALL) return undefined;
  return (value.values as readonly (number | bigint)[]).map((v) => Number(v));
}

/** Broadcasts several dims lists (numpy rules); a symbol against 1 stays the symbol. */
export function broadcastDims(list: readonly (readonly Dim[] | undefined)[]): Dim[] | undefined {
  if (list.some((d) => d === undefined)) return undefined;
  const all = list as readonly (readonly Dim[])[];
  const rank = Math.max(0, ...all.map((d) => d.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const dims of all) {
      const k = i - (rank - dims.length);
      if (k < 0) continue;
      const d = dims[k];
      if (d === 1) continue;
      if (dim === 1) dim = d;
      else if (d !== dim)
        dim = typeof dim === 'number' && typeof d === 'number' ? Math.max(dim, d) : undefined;
    }
    out.push(dim);
  }
  return out;
}

/** A dim as coefficient × symbols: symbolic dims are canonical products such as '8*batch', so batch·heads
 * reshaped and divided back by heads is 'batch' again. */
interface Product {
  readonly coef: number;
  readonly syms: readonly string[];
}

function parseDim(d: Dim): Product | undefined {
  if (d === undefined) return undefined;
  if (typeof d === 'number') return { coef: d, syms: [] };
  let coef = 1;
  const syms: string[] = [];
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) coef *= Number(part);
    else syms.push(part);
  }
  return { coef, syms: syms.sort() };
}

export function formatDim(p: Product | undefined): Dim {
  if (!p) return undefined;
  if (p.syms.length === 0) return p.coef;
  return p.coef === 1 ? p.syms.join('*') : `${p.coef}*${p.syms.join('*')}`;
}

function multiply(a: Product, b: Product): Product {
  return { coef: a.coef * b.coef, syms: [...a.syms, ...b.syms].sort() };
}

function divide(a: Product, b: Product): Product | undefined {
  if (b.coef === 0) return undefined;
  const rest = [...a.syms];
  for (const s of b.syms) {
    const k = rest.indexOf(s);
    if (k < 0) return undefined;
    rest.splice(k, 1);
  }
  const coef = a.coef / b.coef;
  return Number.isInteger(coef) ? { coef, syms: rest } : undefined;
}

/** A product of dims, or undefined when a dim is unknown. */
function product(dims: readonly Dim[]): Product | undefined {
  let acc: Product = { coef: 1, syms: [] };
  for (const d of dims) {
    const p = parseDim(d);
    if (!p) return undefined;
    acc = multiply(acc, p);
  }
  return acc;
}

function divideProducts(total: readonly Dim[], known: readonly Dim[]): Dim {
  const a = product(total);
  const b = product(known);
  return a && b ? formatDim(divide(a, b)) : undefined;
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function convOutDims(node: OnnxNode, x: readonly Dim[], w: readonly Dim[], transpose: boolean): Dim[] {
  const spatial = x.length - 2;
  const kernel = intsAttr(node, 'kernel_shape') ?? w.slice(2);
  const strides = intsAttr(node, 'strides') ?? new Array(spatial).fill(1);
  const dilations = intsAttr(node, 'dilations') ?? new Array(spatial).fill(1);
  const pads = intsAttr(node, 'pads') ?? new Array(spatial * 2).fill(0);
  const autoPad = attrOf(node, 'auto_pad');
  const autoPadValue = autoPad?.type === 'string' ? autoPad.value : 'NOTSET';
  const group = intAttr(node, 'group', 1);
  const outChannels = transpose ? (typeof w[1] === 'number' ? w[1] * group : undefined) : w[0];
  const out: Dim[] = [x[0], outChannels];
  for (let i = 0; i < spatial; i++) {
    const size = x[i + 2];
    const k = kernel[i];
    const s = strides[i] ?? 1;
    const d = dilations[i] ?? 1;
    if (typeof size !== 'number' || typeof k !== 'number') {
      out.push(undefined);
      continue;
    }
    const ek = (k - 1) * d + 1;
    if (transpose) {
      const outputShape = intsAttr(node, 'output_shape');
      if (outputShape) {
        out.push(outputShape[i]);
        continue;
      }
      const op = intsAttr(node, 'output_padding')?.[i] ?? 0;
      out.push(s * (size - 1) + op + ek - (pads[i] ?? 0) - (pads[i + spatial] ?? 0));
    } else if (autoPadValue === 'SAME_UPPER' || autoPadValue === 'SAME_LOWER') {
      out.push(Math.ceil(size / s));
    } else if (autoPadValue === 'VALID') {
      out.push(Math.floor((size - ek) / s) + 1);
    } else {
      out.push(Math.floor((size + (pads[i] ?? 0) + (pads[i + spatial] ?? 0) - ek) / s) + 1);
    }
  }
  return out;
}

function matmulDims(a: readonly Dim[], b: readonly Dim[]): Dim[] | undefined {
  if (a.length === 0 || b.length === 0) return undefined;
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const batch = broadcastDims([a2.slice(0, -2), b2.slice(0, -2)]);
  if (!batch) return undefined;
  const out = [...batch, a2[a2.length - 2], b2[b2.length - 1]];
  if (a.length === 1) out.splice(out.length - 2, 1);
  if (b.length === 1) out.splice(out.length - 1, 1);
  return out;
}

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

/**
 * Output dims of an Einsum: letters take their input sizes (a 1 gives way to the other operand's), `...` stands
 * for the broadcast of the axes each term leaves to it, and an implicit output (no `->`) is `...` followed by the
 * letters used exactly once, in alphabetical order (the numpy convention the ONNX spec adopts).
 */
function einsumDims(equation: string, inputs: readonly (readonly Dim[] | undefined)[]): Dim[] | undefined {
  const [lhs = '', explicit] = equation.replace(/\s/g, '').split('->');
  const letters = new Map<string, Dim>();
  const counts = new Map<string, number>();
  const ellipses: Dim[][] = [];
  const terms = lhs.split(',');
  for (let t = 0; t < terms.length; t++) {
    const dims = inputs[t];
    const term = terms[t] ?? '';
    if (!dims) return undefined;
    const at = term.indexOf('...');
    const named = term.replace('...', '');
    const covered = dims.length - named.length;
    if (covered < 0 || (at < 0 && covered !== 0)) return undefined;
    const axes = at < 0 ? [...named].map((_, i) => i) : [];
    if (at >= 0) {
      for (let i = 0; i < at; i++) axes.push(i);
      ellipses.push(dims.slice(at, at + covered));
      for (let i = at; i < named.length; i++) axes.push(i + covered);
    }
    [...named].forEach((c, i) => {
      const d = dims[axes[i] ?? -1];
      const prev = letters.get(c);
      if (prev === undefined || prev === 1) letters.set(c, d);
      counts.set(c, (counts.get(c) ?? 0) + 1);
    });
  }
  const rhs =
    explicit ??
    `${ellipses.length > 0 ? '...' : ''}${[...counts]
      .filter(([, n]) => n === 1)
      .map(([c]) => c)
      .sort()
      .join('')}`;
  const broadcast = broadcastDims(ellipses) ?? [];
  const at = rhs.indexOf('...');
  const named = [...rhs.replace('...', '')].map((c) => letters.get(c));
  if (at < 0) return named;
  return [...named.slice(0, at), ...broadcast, ...named.slice(at)];
}

/** Infers dtype/rank/dims for all tensors reachable in `graph`. */
export function inferShapes(graph: OnnxGraph, opset: number): Map<string, TensorInfo> {
  const info: InfoMap = new Map();
  const hints = new Map(graph.valueInfo.map((v) => [v.name, v]));
  for (const v of [...graph.inputs, ...graph.outputs]) hints.set(v.name, v);
  for (const v of graph.inputs) info.set(v.name, { dataType: v.dataType, dims: v.dims });
  for (const t of graph.initializers) {
    let extra: { sym?: Dim[]; floats?: number[] } = {};
    if (t.data.kind === 'raw' && t.dims.length <= 1 && t.data.bytes.byteLength <= 8 * SMALL) {
      const values = decodeValues(t.dataType, t.data.bytes);
      if (isIntType(t.dataType))
        extra = { sym: symFromConst({ dataType: t.dataType, dims: t.dims, values }) };
      else if (t.dataType === DataType.FLOAT) extra = { floats: values as number[] };
    }
    info.set(t.name, { dataType: t.dataType, dims: t.dims, ...extra });
  }
  for (const node of graph.nodes) {
    const results = inferNode(node, info, opset);
    node.outputs.forEach((name, k) => {
      if (!name) return;
      const inferred = results[k];
      const hint = hints.get(name);
      if (inferred && inferred.dims !== undefined && inferred.dataType !== 0) {
        // Fill symbolic holes from the export's value_info where it knows better.
        const dims =
          hint?.dims && hint.dims.length === inferred.dims.length
            ? inferred.dims.map((d, i) => (typeof d === 'number' ? d : (hint.dims?.[i] ?? d)))
            : inferred.dims;
        info.set(name, { ...inferred, dims });
      } else if (hint && hint.dataType !== 0) {
        info.set(name, {
          dataType: inferred?.dataType || hint.dataType,
          dims: inferred?.dims ?? hint.dims,
          ...(inferred?.sym ? { sym: inferred.sym } : {}),
        });
      } else if (inferred) {
        info.set(name, inferred);
      }
    });
  }
  return info;
}

/** Output infos of one node given the infos of its inputs (entries may be undefined when unknown). */
export function inferNode(node: OnnxNode, info: InfoMap, opset: number): (TensorInfo | undefined)[] {
  const get = (k: number): TensorInfo | undefined => {
    const name = node.inputs[k];
    return name ? info.get(name) : undefined;
  };
  const dimsOf = (k: number) => get(k)?.dims;
  const symOf = (k: number) => get(k)?.sym;
  const numbersOf = (k: number): number[] | undefined => {
    const s = symOf(k);
    return s?.every((d) => typeof d === 'number') ? (s as number[]) : undefined;
  };
  const x = get(0);
  const same = (): TensorInfo[] => (x ? [{ dataType: x.dataType, dims: x.dims }] : []);
  const op = node.opType;

  switch (op) {
    case 'Identity': {
      return x ? [x] : [];
    }
    case 'Relu':
    case 'Sigmoid':
    case 'Tanh':
    case 'Erf':
    case 'Sqrt':
    case 'Exp':
    case 'Log':
    case 'Neg':
    case 'Abs':
    case 'Sin':
    case 'Cos':
    case 'Reciprocal':
    case 'Floor':
    case 'Ceil':
    case 'Round':
    case 'Sign':
    case 'Softmax':
    case 'LogSoftmax':
    case 'Clip':
    case 'LeakyRelu':
    case 'Elu':
    case 'Selu':
    case 'Celu':
    case 'Gelu':
    case 'HardSigmoid':
    case 'HardSwish':
    case 'Softplus':
    case 'Softsign':
    case 'Mish':
    case 'Trilu':
    case 'CumSum':
    case 'InstanceNormalization':
    case 'BatchNormalization':
    case 'GroupNormalization':
    case 'LpNormalization':
    case 'Tan':
    case 'Atan':
    case 'Asin':
    case 'Acos':
    case 'Sinh':
    case 'Cosh':
    case 'ThresholdedRelu':
    case 'Shrink':
      return same();
    case 'Dropout':
      return x
        ? [
            { dataType: x.dataType, dims: x.dims },
            { dataType: DataType.BOOL, dims: x.dims },
          ]
        : [];
    case 'LayerNormalization': {
      if (!x) return [];
      const axis = normAxis(intAttr(node, 'axis', -1), x.dims?.length ?? 0);
      const stat = x.dims ? x.dims.map((d, i) => (i < axis ? d : 1)) : undefined;
      const statType = intAttr(node, 'stash_type', 1) === 1 ? DataType.FLOAT : x.dataType;
      return [
        { dataType: x.dataType, dims: x.dims },
        { dataType: statType, dims: stat },
        { dataType: statType, dims: stat },
      ];
    }
    case 'Not':
      return [{ dataType: DataType.BOOL, dims: x?.dims }];
    case 'IsNaN':
    case 'IsInf':
      return [{ dataType: DataType.BOOL, dims: x?.dims }];
    case 'Add':
    case 'Sub':
    case 'Mul':
    case 'Div':
    case 'Pow':
    case 'Max':
    case 'Min':
    case 'Mod':
    case 'PRelu':
    case 'Sum':
    case 'Mean':
    case 'BitShift': {
      if (!x) return [];
      const dims = broadcastDims(node.inputs.map((_, k) => dimsOf(k)));
      return [{ dataType: x.dataType, dims, ...foldArithmetic(op, node, info) }];
    }
    case 'And':
    case 'Or':
    case 'Xor':
    case 'Equal':
    case 'Less':
    case 'LessOrEqual':
    case 'Greater':
    case 'GreaterOrEqual': {
      const dims = broadcastDims(node.inputs.map((_, k) => dimsOf(k)));
      const a = symOf(0);
      const b = symOf(1);
      let sym: Dim[] | undefined;
      if (op === 'Equal' && a && b && (a.length === b.length || a.length === 1 || b.length === 1)) {
        // Symbols are dims (never negative): equal to themselves, unequal to negative numbers.
        const eq = (p: Dim, q: Dim): Dim => {
          if (p === undefined || q === undefined) return undefined;
          if (typeof p === 'number' && typeof q === 'number') return p === q ? 1 : 0;
          if (p === q) return 1;
          if ((typeof p === 'number' && p < 0) || (typeof q === 'number' && q < 0)) return 0;
          return undefined;
        };
        const n = Math.max(a.length, b.length);
        sym = Array.from({ length: n }, (_, i) => eq(a[a.length === 1 ? 0 : i], b[b.length === 1 ? 0 : i]));
        if (sym.some((v) => v === undefined)) sym = undefined;
      }
      return [{ dataType: DataType.BOOL, dims, ...(sym ? { sym } : {}) }];
    }
    case 'Where': {
      const t = get(1) ?? get(2);
      const dims = broadcastDims([dimsOf(0), dimsOf(1), dimsOf(2)]);
      const c = numbersOf(0);
      const a = symOf(1);
      const b = symOf(2);
      let sym: Dim[] | undefined;
      if (c && a && b) {
        const n = Math.max(c.length, a.length, b.length);
        sym = Array.from({ length: n }, (_, i) =>
          c[c.length === 1 ? 0 : i] ? a[a.length === 1 ? 0 : i] : b[b.length === 1 ? 0 : i],
        );
      }
      return [{ dataType: t?.dataType ?? 0, dims, ...(sym ? { sym } : {}) }];
    }
    case 'Cast': {
      const to = intAttr(node, 'to', 0);
      const sym = x?.sym && isIntType(to) ? { sym: x.sym } : {};
      return [{ dataType: to, dims: x?.dims, ...sym }];
    }
    case 'CastLike':
      return [{ dataType: get(1)?.dataType ?? 0, dims: x?.dims }];
    case 'MatMul': {
      const a = dimsOf(0);
      const b = dimsOf(1);
      return [{ dataType: x?.dataType ?? 0, dims: a && b ? matmulDims(a, b) : undefined }];
    }
    case 'Gemm': {
      const a = dimsOf(0);
      const b = dimsOf(1);
      const m = a ? (intAttr(node, 'transA', 0) ? a[1] : a[0]) : undefined;
      const n = b ? (intAttr(node, 'transB', 0) ? b[0] : b[1]) : undefined;
      return [{ dataType: x?.dataType ?? 0, dims: [m, n] }];
    }
    case 'Conv':
    case 'ConvTranspose': {
      const a = dimsOf(0);
      const w = dimsOf(1);
      return [
        {
          dataType: x?.dataType ?? 0,
          dims: a && w ? convOutDims(node, a, w, op === 'ConvTranspose') : undefined,
        },
      ];
    }
    case 'Transpose': {
      const d = x?.dims;
      if (!d) return [{ dataType: x?.dataType ?? 0, dims: undefined }];
      const perm = intsAttr(node, 'perm') ?? d.map((_, i) => d.length - 1 - i);
      return [{ dataType: x?.dataType ?? 0, dims: perm.map((p) => d[p]) }];
    }
    case 'Reshape': {
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
    }
    case 'Flatten': {
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
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      const axes = opset >= 13 && node.inputs.length > 1 ? numbersOf(1) : intsAttr(node, 'axes');
      const d = x?.dims;
      let dims: Dim[] | undefined;
      if (d && op === 'Squeeze') {
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
    }
    case 'Concat': {
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
    }
    case 'Split': {
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
    }
    case 'Slice': {
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
    }
    case 'Gather': {
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
    }
    case 'GatherElements':
      return [{ dataType: x?.dataType ?? 0, dims: dimsOf(1) }];
    case 'Expand': {
      const shape = symOf(1);
      const shapeLen = dimsOf(1)?.[0];
      let dims: Dim[] | undefined;
      if (shape) dims = broadcastDims([x?.dims, shape.map((s) => (s === -1 ? 1 : s))]);
      else if (typeof shapeLen === 'number' && x?.dims) {
        dims = new Array(Math.max(shapeLen, x.dims.length)).fill(undefined);
      }
      return [{ dataType: x?.dataType ?? 0, dims }];
    }
    case 'Tile': {
      const d = x?.dims;
      const reps = numbersOf(1);
      return [
        {
          dataType: x?.dataType ?? 0,
          dims: d
            ? d.map((v, i) => (reps && typeof v === 'number' ? v * (reps[i] ?? 1) : undefined))
            : undefined,
        },
      ];
    }
    case 'Pad': {
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
    }
    case 'Shape': {
      const d = x?.dims;
      if (!d) return [{ dataType: DataType.INT64, dims: [undefined] }];
      const start = normAxis(intAttr(node, 'start', 0), d.length);
      const endAttr = attrOf(node, 'end');
      const end = endAttr?.type === 'int' ? normAxis(endAttr.value, d.length) : d.length;
      const s = d.slice(Math.max(0, start), Math.min(d.length, end));
      return [{ dataType: DataType.INT64, dims: [s.length], sym: s }];
    }
    case 'Size': {
      const p = x?.dims ? product(x.dims) : undefined;
      const sym = p ? { sym: [formatDim(p)] } : {};
      return [{ dataType: DataType.INT64, dims: [], ...sym }];
    }
    case 'ConstantOfShape': {
      const shape = symOf(0);
      const len = dimsOf(0)?.[0];
      const value = attrOf(node, 'value');
      const dataType = value?.type === 'tensor' ? value.value.dataType : DataType.FLOAT;
      const dims = shape ?? (typeof len === 'number' ? new Array(len).fill(undefined) : undefined);
      let sym: Dim[] | undefined;
      if (
        value?.type === 'tensor' &&
        isIntType(dataType) &&
        value.value.data.kind === 'raw' &&
        shape?.length === 1
      ) {
        const n = shape[0];
        const v = decodeValues(dataType, value.value.data.bytes)[0];
        if (typeof n === 'number' && n <= SMALL && v !== undefined) sym = new Array(n).fill(Number(v));
      }
      return [{ dataType, dims, ...(sym ? { sym } : {}) }];
    }
    case 'Range': {
      const [a, b, c] = [numbersOf(0), numbersOf(1), numbersOf(2)];
      let dims: Dim[] = [undefined];
      let sym: Dim[] | undefined;
      if (a && b && c && a[0] !== undefined && b[0] !== undefined && c[0] !== undefined && c[0] !== 0) {
        const n = Math.max(Math.ceil((b[0] - a[0]) / c[0]), 0);
        dims = [n];
        if (n <= SMALL && isIntType(x?.dataType ?? 0))
          sym = Array.from({ length: n }, (_, i) => (a[0] ?? 0) + i * (c[0] ?? 1));
      }
      return [{ dataType: x?.dataType ?? 0, dims, ...(sym ? { sym } : {}) }];
    }
    case 'Constant':
      return [constantInfo(node)];
    case 'ReduceSum':
    case 'ReduceMean':
    case 'ReduceMax':
    case 'ReduceMin':
    case 'ReduceProd':
    case 'ReduceL1':
    case 'ReduceL2':
    case 'ReduceLogSum':
    case 'ReduceLogSumExp':
    case 'ReduceSumSquare': {
      const axesAsInput = op === 'ReduceSum' ? opset >= 13 : opset >= 18;
      const hasAxesInput = axesAsInput && !!node.inputs[1];
      const axes = axesAsInput ? (hasAxesInput ? numbersOf(1) : undefined) : intsAttr(node, 'axes');
      const keep = intAttr(node, 'keepdims', 1) === 1;
      const noop = intAttr(node, 'noop_with_empty_axes', 0) === 1;
      const d = x?.dims;
      let dims: Dim[] | undefined;
      if (d && (!hasAxesInput || axes)) dims = reduceDims(d, axes, keep, noop);
      else if (d && keep) dims = d.map(() => undefined);
      return [{ dataType: x?.dataType ?? 0, dims }];
    }
    case 'ArgMax':
    case 'ArgMin': {
      const d = x?.dims;
      const keep = intAttr(node, 'keepdims', 1) === 1;
      const dims = d ? reduceDims(d, [intAttr(node, 'axis', 0)], keep, false) : undefined;
      return [{ dataType: DataType.INT64, dims }];
    }
    case 'Resize':
    case 'Upsample': {
      const d = x?.dims;
      const scalesName = op === 'Upsample' ? node.inputs[1] : node.inputs[2];
      const scales = scalesName ? constFloats(scalesName, info) : undefined;
      const sizes = op === 'Resize' && node.inputs[3] ? numbersOf(3) : undefined;
      const attrScales = floatsAttr(node, 'scales');
      const s = scales ?? attrScales;
      let dims: Dim[] | undefined;
      if (d && sizes) dims = sizes;
      else if (d && s && s.length === d.length) {
        dims = d.map((v, i) =>
          typeof v === 'number' ? Math.floor(v * (s[i] ?? 1)) : s[i] === 1 ? v : undefined,
        );
      } else if (d) dims = d.map((v, i) => (i < 2 ? v : undefined));
      return [{ dataType: x?.dataType ?? 0, dims }];
    }
    case 'Einsum': {
      const eq = attrOf(node, 'equation');
      const dims =
        eq?.type === 'string'
          ? einsumDims(
              eq.value,
              node.inputs.map((_, k) => dimsOf(k)),
            )
          : undefined;
      return [{ dataType: x?.dataType ?? 0, dims }];
    }
    case 'ScatterND':
    case 'ScatterElements':
    case 'Scatter':
      return same();
    case 'NonZero':
      return [{ dataType: DataType.INT64, dims: [x?.dims?.length, undefined] }];
    case 'TopK': {
      const d = x?.dims;
      const k = numbersOf(1)?.[0];
      const axis = d ? normAxis(intAttr(node, 'axis', -1), d.length) : 0;
      const dims = d ? d.map((v, i) => (i === axis ? k : v)) : undefined;
      return [
        { dataType: x?.dataType ?? 0, dims },
        { dataType: DataType.INT64, dims },
      ];
    }
    default:
      return [];
  }
}

function constFloats(name: string, info: InfoMap): number[] | undefined {
  const s = info.get(name)?.sym;
  if (s?.every((v) => typeof v === 'number')) return s as number[];
  const f = info.get(name)?.floats;
  return f ? [...f] : undefined;
}

function constantInfo(node: OnnxNode): TensorInfo {
  const value = attrOf(node, 'value');
  if (value?.type === 'tensor') {
    const t = value.value;
    let extra: { sym?: Dim[]; floats?: number[] } = {};
    if (t.data.kind === 'raw' && t.dims.length <= 1 && t.data.bytes.byteLength <= 8 * SMALL) {
      const values = decodeValues(t.dataType, t.data.bytes);
      if (isIntType(t.dataType))
        extra = { sym: (values as readonly (number | bigint)[]).map((v) => Number(v)) };
      else if (t.dataType === DataType.FLOAT) extra = { floats: values as number[] };
    }
    return { dataType: t.dataType, dims: t.dims, ...extra };
  }
  const f = attrOf(node, 'value_float');
  if (f) return { dataType: DataType.FLOAT, dims: [] };
  const fs = attrOf(node, 'value_floats');
  if (fs?.type === 'floats') return { dataType: DataType.FLOAT, dims: [fs.value.length] };
  const i = attrOf(node, 'value_int');
  if (i?.type === 'int') return { dataType: DataType.INT64, dims: [], sym: [i.value] };
  const is = attrOf(node, 'value_ints');
  if (is?.type === 'ints') return { dataType: DataType.INT64, dims: [is.value.length], sym: [...is.value] };
  return { dataType: 0, dims: undefined };
}

/** Folds integer arithmetic on small shape tensors (numbers only; x·1 and x+0 keep symbols). */
function foldArithmetic(op: string, node: OnnxNode, info: InfoMap): { sym?: Dim[] } {
  if (node.inputs.length !== 2 || !['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min'].includes(op)) return {};
  const a = node.inputs[0] ? info.get(node.inputs[0]) : undefined;
  const b = node.inputs[1] ? info.get(node.inputs[1]) : undefined;
  if (!a?.sym || !b?.sym || !isIntType(a.dataType)) return {};
  const n = Math.max(a.sym.length, b.sym.length);
  if (a.sym.length !== n && a.sym.length !== 1) return {};
  if (b.sym.length !== n && b.sym.length !== 1) return {};
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const p = a.sym[a.sym.length === 1 ? 0 : i];
    const q = b.sym[b.sym.length === 1 ? 0 : i];
    if (typeof p === 'number' && typeof q === 'number') {
      out.push(
        op === 'Add'
          ? p + q
          : op === 'Sub'
            ? p - q
            : op === 'Mul'
              ? p * q
              : op === 'Div'
                ? Math.trunc(p / q)
                : op === 'Max'
                  ? Math.max(p, q)
                  : Math.min(p, q),
      );
    } else if (op === 'Mul' && p !== undefined && q !== undefined) {
      const pp = parseDim(p);
      const qq = parseDim(q);
      out.push(pp && qq ? formatDim(multiply(pp, qq)) : undefined);
    } else if (op === 'Div' && p !== undefined && q !== undefined) {
      const pp = parseDim(p);
      const qq = parseDim(q);
      out.push(pp && qq ? formatDim(divide(pp, qq)) : undefined);
    } else if ((op === 'Add' || op === 'Sub') && q === 0) out.push(p);
    else if (op === 'Add' && p === 0) out.push(q);
    else out.push(undefined);
  }
  return { sym: out };
}
