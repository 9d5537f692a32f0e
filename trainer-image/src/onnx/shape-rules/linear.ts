// Shape rules of the contracting ops: MatMul (numpy batch broadcasting), Gemm, Conv/ConvTranspose (pads,
// strides, dilations, auto_pad, output_padding/output_shape) and Einsum (its equation, `...` included).
import type { OnnxNode } from '../model.ts';
import type { Dim } from '../typed-values.ts';
import { broadcastDims } from './dims.ts';
import { attrOf, intAttr, intsAttr, type ShapeRule, type ShapeRuleEntry } from './shape-rule.ts';

const matMul: ShapeRule = ({ x, dimsOf }) => {
  const a = dimsOf(0);
  const b = dimsOf(1);
  return [{ dataType: x?.dataType ?? 0, dims: a && b ? matmulDims(a, b) : undefined }];
};

const gemm: ShapeRule = ({ node, x, dimsOf }) => {
  const a = dimsOf(0);
  const b = dimsOf(1);
  const m = a ? (intAttr(node, 'transA', 0) ? a[1] : a[0]) : undefined;
  const n = b ? (intAttr(node, 'transB', 0) ? b[0] : b[1]) : undefined;
  return [{ dataType: x?.dataType ?? 0, dims: [m, n] }];
};

const conv: ShapeRule = ({ node, x, dimsOf }) => {
  const a = dimsOf(0);
  const w = dimsOf(1);
  return [
    {
      dataType: x?.dataType ?? 0,
      dims: a && w ? convOutDims(node, a, w, node.opType === 'ConvTranspose') : undefined,
    },
  ];
};

const einsum: ShapeRule = ({ node, x, dimsOf }) => {
  const eq = attrOf(node, 'equation');
  const dims =
    eq?.type === 'string'
      ? einsumDims(
          eq.value,
          node.inputs.map((_, k) => dimsOf(k)),
        )
      : undefined;
  return [{ dataType: x?.dataType ?? 0, dims }];
};

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

export const LINEAR_SHAPE_RULES: readonly ShapeRuleEntry[] = [
  ['MatMul', matMul],
  ['Gemm', gemm],
  ['Conv', conv],
  ['ConvTranspose', conv],
  ['Einsum', einsum],
];
