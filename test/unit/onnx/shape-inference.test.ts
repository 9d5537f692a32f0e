// Static shape knowledge without onnxruntime: symbolic batch dims survive TorchScript-style shape arithmetic
// (Shape → Gather → Unsqueeze → Concat → Reshape, batch·heads and back), Conv/MatMul dims, and Equal on dims.
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { formatDim, inferShapes } from '../../../trainer-image/src/onnx/shape-inference.ts';

const i64 = (values: number[]) => ({
  dataType: DataType.INT64,
  dims: [values.length],
  values: values.map(BigInt),
});
const scalar64 = (value: number) => ({ dataType: DataType.INT64, dims: [], values: [BigInt(value)] });

describe('inferShapes', () => {
  it('keeps a symbolic batch through reshapes that fold batch·heads and divide it back', () => {
    const model = new GraphBuilder()
      .input('x', DataType.FLOAT, ['batch', 77, 32])
      .initializer('zero', scalar64(0))
      .initializer('heads', scalar64(4))
      .initializer('ax0', i64([0]))
      .initializer('tail', i64([-1, 8]))
      .initializer('back_tail', i64([77, 32]))
      .node('Shape', ['x'], ['shape'])
      .node('Gather', ['shape', 'zero'], ['b'], { axis: { type: 'int', value: 0 } })
      .node('Mul', ['b', 'heads'], ['bh'])
      .node('Unsqueeze', ['bh', 'ax0'], ['bh1'])
      .node('Concat', ['bh1', 'tail'], ['shape2'], { axis: { type: 'int', value: 0 } })
      .node('Reshape', ['x', 'shape2'], ['y'])
      .node('Div', ['bh', 'heads'], ['b2'])
      .node('Unsqueeze', ['b2', 'ax0'], ['b21'])
      .node('Concat', ['b21', 'back_tail'], ['shape3'], { axis: { type: 'int', value: 0 } })
      .node('Reshape', ['y', 'shape3'], ['z'])
      .build(17);
    const info = inferShapes(model.graph, 17);
    expect(info.get('y')?.dims).toEqual(['4*batch', 77, 8]);
    expect(info.get('z')?.dims).toEqual(['batch', 77, 32]);
  });

  it('infers Conv, MatMul broadcasting, and Equal(dim, -1) as false', () => {
    const model = new GraphBuilder()
      .input('img', DataType.FLOAT, ['n', 4, 16, 16])
      .input('a', DataType.FLOAT, ['n', 8, 77, 4])
      .input('bm', DataType.FLOAT, [4, 6])
      .initializer('w', { dataType: DataType.FLOAT, dims: [8, 4, 3, 3], values: new Array(288).fill(0) })
      .initializer('minus1', i64([-1]))
      .node('Conv', ['img', 'w'], ['c'], {
        pads: { type: 'ints', value: [1, 1, 1, 1] },
        strides: { type: 'ints', value: [2, 2] },
      })
      .node('MatMul', ['a', 'bm'], ['m'])
      .node('Shape', ['img'], ['s'], { end: { type: 'int', value: 1 } })
      .node('Equal', ['s', 'minus1'], ['eq'])
      .build(17);
    const info = inferShapes(model.graph, 17);
    expect(info.get('c')?.dims).toEqual(['n', 8, 8, 8]);
    expect(info.get('m')?.dims).toEqual(['n', 8, 77, 6]);
    expect(info.get('eq')?.sym).toEqual([0]);
  });

  it('formats products canonically', () => {
    expect(formatDim({ coef: 8, syms: ['batch'] })).toBe('8*batch');
    expect(formatDim({ coef: 3, syms: [] })).toBe(3);
  });
});

describe('inferShapes: Einsum and Scatter', () => {
  const einsum = (equation: string, dims: readonly (readonly (number | string)[])[]) => {
    const b = new GraphBuilder();
    dims.forEach((d, k) => {
      b.input(`x${k}`, DataType.FLOAT, d);
    });
    const model = b
      .node(
        'Einsum',
        dims.map((_, k) => `x${k}`),
        ['y'],
        { equation: { type: 'string', value: equation } },
      )
      .build(17);
    return inferShapes(model.graph, 17).get('y')?.dims;
  };

  it.each([
    [
      'explicit',
      'bij,bjk->bik',
      [
        [2, 3, 4],
        [2, 4, 5],
      ],
      [2, 3, 5],
    ],
    [
      'implicit: letters used once, sorted',
      'ij,jk',
      [
        [3, 4],
        [4, 5],
      ],
      [3, 5],
    ],
    ['implicit transpose', 'ba', [[3, 4]], [4, 3]],
    [
      'implicit with ellipsis first',
      '...ij,...jk',
      [
        ['n', 2, 3, 4],
        [2, 4, 5],
      ],
      ['n', 2, 3, 5],
    ],
    ['explicit ellipsis in the middle', 'i...j->j...i', [[3, 'h', 7, 4]], [4, 'h', 7, 3]],
    [
      'ellipsis broadcast with unit dims',
      '...i,...i->...',
      [
        [1, 6, 4],
        [5, 1, 4],
      ],
      [5, 6],
    ],
    ['ellipsis covering no axis', '...ij->...ji', [[3, 4]], [4, 3]],
    [
      'a unit size gives way to the other operand',
      'ij,ij->ij',
      [
        [1, 4],
        [3, 4],
      ],
      [3, 4],
    ],
  ])('infers %s (%s)', (_, equation, dims, expected) => {
    expect(einsum(equation, dims)).toEqual(expected);
  });

  it('leaves a rank that does not match the term unknown', () => {
    expect(einsum('ij->ji', [[2, 3, 4]])).toBeUndefined();
  });

  it.each(['ScatterND', 'ScatterElements'])('gives %s the data input type and dims', (op) => {
    const model = new GraphBuilder()
      .input('data', DataType.FLOAT, ['n', 8])
      .input('idx', DataType.INT64, [2, 1])
      .input('upd', DataType.FLOAT, [2, 8])
      .node(op, ['data', 'idx', 'upd'], ['y'])
      .build(17);
    expect(inferShapes(model.graph, 17).get('y')).toEqual({ dataType: DataType.FLOAT, dims: ['n', 8] });
  });
});
