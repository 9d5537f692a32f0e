// Shape rules of the broadcasting ops: arithmetic (folding integer shape arithmetic, symbols included),
// comparisons and logic (folding Equal on dims), and Where (folding a select among known values).
import { DataType, type OnnxNode } from '../model.ts';
import type { Dim } from '../typed-values.ts';
import { broadcastDims, divide, formatDim, multiply, parseDim } from './dims.ts';
import { forOps, type InfoMap, isIntType, type ShapeRule, type ShapeRuleEntry } from './shape-rule.ts';

const ARITHMETIC_OPS = [
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Max',
  'Min',
  'Mod',
  'PRelu',
  'Sum',
  'Mean',
  'BitShift',
];
const COMPARISON_OPS = ['And', 'Or', 'Xor', 'Equal', 'Less', 'LessOrEqual', 'Greater', 'GreaterOrEqual'];

const arithmetic: ShapeRule = ({ node, info, x, dimsOf }) => {
  if (!x) return [];
  const dims = broadcastDims(node.inputs.map((_, k) => dimsOf(k)));
  return [{ dataType: x.dataType, dims, ...foldArithmetic(node.opType, node, info) }];
};

const comparison: ShapeRule = ({ node, dimsOf, symOf }) => {
  const dims = broadcastDims(node.inputs.map((_, k) => dimsOf(k)));
  const a = symOf(0);
  const b = symOf(1);
  let sym: Dim[] | undefined;
  if (node.opType === 'Equal' && a && b && (a.length === b.length || a.length === 1 || b.length === 1)) {
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
};

const where: ShapeRule = ({ get, dimsOf, symOf, numbersOf }) => {
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
};

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
    out.push(foldElement(op, a.sym[a.sym.length === 1 ? 0 : i], b.sym[b.sym.length === 1 ? 0 : i]));
  }
  return { sym: out };
}

/** One element of foldArithmetic: numbers computed, symbolic products multiplied or divided. */
function foldElement(op: string, p: Dim, q: Dim): Dim {
  if (typeof p === 'number' && typeof q === 'number') {
    if (op === 'Add') return p + q;
    if (op === 'Sub') return p - q;
    if (op === 'Mul') return p * q;
    if (op === 'Div') return Math.trunc(p / q);
    return op === 'Max' ? Math.max(p, q) : Math.min(p, q);
  }
  if ((op === 'Mul' || op === 'Div') && p !== undefined && q !== undefined) {
    const pp = parseDim(p);
    const qq = parseDim(q);
    if (!pp || !qq) return undefined;
    return formatDim(op === 'Mul' ? multiply(pp, qq) : divide(pp, qq));
  }
  if ((op === 'Add' || op === 'Sub') && q === 0) return p;
  if (op === 'Add' && p === 0) return q;
  return undefined;
}

export const BROADCAST_SHAPE_RULES: readonly ShapeRuleEntry[] = [
  ...forOps(ARITHMETIC_OPS, arithmetic),
  ...forOps(COMPARISON_OPS, comparison),
  ['Where', where],
];
