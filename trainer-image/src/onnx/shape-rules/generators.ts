// Shape rules of the ops that make tensors from shapes or attributes: Shape and Size (whose values are dims,
// symbols included), ConstantOfShape, Range, Constant and NonZero.
import { DataType, type OnnxNode } from '../model.ts';
import { decodeValues } from '../tensor-values.ts';
import type { Dim } from '../typed-values.ts';
import { formatDim, product } from './dims.ts';
import {
  attrOf,
  intAttr,
  isIntType,
  normAxis,
  type ShapeRule,
  type ShapeRuleEntry,
  SMALL,
  type TensorInfo,
} from './shape-rule.ts';

const shape: ShapeRule = ({ node, x }) => {
  const d = x?.dims;
  if (!d) return [{ dataType: DataType.INT64, dims: [undefined] }];
  const start = normAxis(intAttr(node, 'start', 0), d.length);
  const endAttr = attrOf(node, 'end');
  const end = endAttr?.type === 'int' ? normAxis(endAttr.value, d.length) : d.length;
  const s = d.slice(Math.max(0, start), Math.min(d.length, end));
  return [{ dataType: DataType.INT64, dims: [s.length], sym: s }];
};

const size: ShapeRule = ({ x }) => {
  const p = x?.dims ? product(x.dims) : undefined;
  const sym = p ? { sym: [formatDim(p)] } : {};
  return [{ dataType: DataType.INT64, dims: [], ...sym }];
};

const constantOfShape: ShapeRule = ({ node, dimsOf, symOf }) => {
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
};

const range: ShapeRule = ({ x, numbersOf }) => {
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
};

/** A Constant node's tensor (values folded when small) or its value_float/floats/int/ints form. */
const constant: ShapeRule = ({ node }) => {
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
    return [{ dataType: t.dataType, dims: t.dims, ...extra }];
  }
  return [scalarConstant(node.attributes)];
};

function scalarConstant(attributes: OnnxNode['attributes']): TensorInfo {
  const f = attributes.value_float;
  if (f) return { dataType: DataType.FLOAT, dims: [] };
  const fs = attributes.value_floats;
  if (fs?.type === 'floats') return { dataType: DataType.FLOAT, dims: [fs.value.length] };
  const i = attributes.value_int;
  if (i?.type === 'int') return { dataType: DataType.INT64, dims: [], sym: [i.value] };
  const is = attributes.value_ints;
  if (is?.type === 'ints') return { dataType: DataType.INT64, dims: [is.value.length], sym: [...is.value] };
  return { dataType: 0, dims: undefined };
}

const nonZero: ShapeRule = ({ x }) => [{ dataType: DataType.INT64, dims: [x?.dims?.length, undefined] }];

export const GENERATOR_SHAPE_RULES: readonly ShapeRuleEntry[] = [
  ['Shape', shape],
  ['Size', size],
  ['ConstantOfShape', constantOfShape],
  ['Range', range],
  ['Constant', constant],
  ['NonZero', nonZero],
];
