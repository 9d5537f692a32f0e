// Shape rules of ops whose outputs have their input's shape: activations, normalizations, casts, scatters, and
// the boolean tests of one tensor.
import { DataType } from '../model.ts';
import {
  forOps,
  intAttr,
  isIntType,
  normAxis,
  type ShapeRule,
  type ShapeRuleEntry,
  same,
} from './shape-rule.ts';

const SAME_SHAPE_OPS = [
  'Relu',
  'Sigmoid',
  'Tanh',
  'Erf',
  'Sqrt',
  'Exp',
  'Log',
  'Neg',
  'Abs',
  'Sin',
  'Cos',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'Softmax',
  'LogSoftmax',
  'Clip',
  'LeakyRelu',
  'Elu',
  'Selu',
  'Celu',
  'Gelu',
  'HardSigmoid',
  'HardSwish',
  'Softplus',
  'Softsign',
  'Mish',
  'Trilu',
  'CumSum',
  'InstanceNormalization',
  'BatchNormalization',
  'GroupNormalization',
  'LpNormalization',
  'Tan',
  'Atan',
  'Asin',
  'Acos',
  'Sinh',
  'Cosh',
  'ThresholdedRelu',
  'Shrink',
  'ScatterND',
  'ScatterElements',
  'Scatter',
];

/** Identity passes everything through, folded values included. */
const identity: ShapeRule = ({ x }) => (x ? [x] : []);

/** The output and the BOOL mask. */
const dropout: ShapeRule = ({ x }) =>
  x
    ? [
        { dataType: x.dataType, dims: x.dims },
        { dataType: DataType.BOOL, dims: x.dims },
      ]
    : [];

/** Y, then Mean and InvStdDev: the normalized axes (from `axis` on) kept as 1, in the stash type. */
const layerNormalization: ShapeRule = ({ node, x }) => {
  if (!x) return [];
  const axis = normAxis(intAttr(node, 'axis', -1), x.dims?.length ?? 0);
  const stat = x.dims ? x.dims.map((d, i) => (i < axis ? d : 1)) : undefined;
  const statType = intAttr(node, 'stash_type', 1) === 1 ? DataType.FLOAT : x.dataType;
  return [
    { dataType: x.dataType, dims: x.dims },
    { dataType: statType, dims: stat },
    { dataType: statType, dims: stat },
  ];
};

const booleanOfOne: ShapeRule = ({ x }) => [{ dataType: DataType.BOOL, dims: x?.dims }];

/** Integer casts keep the folded values (shape arithmetic often passes through Cast). */
const cast: ShapeRule = ({ node, x }) => {
  const to = intAttr(node, 'to', 0);
  const sym = x?.sym && isIntType(to) ? { sym: x.sym } : {};
  return [{ dataType: to, dims: x?.dims, ...sym }];
};

const castLike: ShapeRule = ({ x, get }) => [{ dataType: get(1)?.dataType ?? 0, dims: x?.dims }];

export const ELEMENTWISE_SHAPE_RULES: readonly ShapeRuleEntry[] = [
  ...forOps(SAME_SHAPE_OPS, same),
  ['Identity', identity],
  ['Dropout', dropout],
  ['LayerNormalization', layerNormalization],
  ...forOps(['Not', 'IsNaN', 'IsInf'], booleanOfOne),
  ['Cast', cast],
  ['CastLike', castLike],
];
