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
