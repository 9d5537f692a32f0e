// The shape-rule table (onnx/shape-rules/index.ts): an op registered twice is refused, every op the autodiff has
// a gradient rule for has a shape rule (rules read their tensors' static types), and an unknown op infers nothing.
import { defaultRegistry } from '../../../trainer-image/src/autodiff/registry.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { inferNode } from '../../../trainer-image/src/onnx/shape-inference.ts';
import { SHAPE_RULES, shapeRuleTable } from '../../../trainer-image/src/onnx/shape-rules/index.ts';
import { type ShapeRule, same } from '../../../trainer-image/src/onnx/shape-rules/shape-rule.ts';

const node = (opType: string) => ({
  name: 'n',
  opType,
  domain: '',
  inputs: ['x'],
  outputs: ['y'],
  attributes: {},
});

describe('shape rule table', () => {
  it('refuses an op type registered twice, naming it', () => {
    const rule: ShapeRule = same;
    expect(() =>
      shapeRuleTable([
        ['Relu', rule],
        ['Tanh', rule],
        ['Relu', rule],
      ]),
    ).toThrow('shape rule for Relu registered twice');
  });

  it('has a rule for every op with a gradient rule', () => {
    const missing = defaultRegistry().opTypes.filter((op) => !SHAPE_RULES.has(op));
    expect(missing).toEqual([]);
  });

  it('infers nothing for an op it has no rule for, and dispatches the ones it has', () => {
    const info = new Map([['x', { dataType: DataType.FLOAT, dims: [2, 3] }]]);
    expect(inferNode(node('NoSuchOp'), info, 17)).toEqual([]);
    expect(inferNode(node('Relu'), info, 17)).toEqual([{ dataType: DataType.FLOAT, dims: [2, 3] }]);
    expect(inferNode(node('Shape'), info, 17)).toEqual([
      { dataType: DataType.INT64, dims: [2], sym: [2, 3] },
    ]);
  });
});
