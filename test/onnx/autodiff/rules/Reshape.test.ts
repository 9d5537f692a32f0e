/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Reshape's gradient against central finite differences (a constant target shape with -1 and 0), also with
// symbolic input dims: the gradient's target shape then stays a constant (0 copies a dim the gradient has at the
// same position, −1 infers one other) where it can, and is read with Shape at run time where it cannot.

import { buildGradientGraph } from '../../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { GraphBuilder } from '../../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Reshape gradient', () => {
  it.each([
    ['-1', [2, 3, 4], [-1, 4], false],
    ['0 copies a dim', [2, 3, 4], [0, 12], false],
    ['symbolic, one dim inferred', [6], [-1, 2], true],
    ['symbolic, dims copied', [2, 3], [0, 0, 1], true],
    ['symbolic, read at run time', [2, 3, 4], [0, 12], true],
  ])('matches finite differences (%s)', async (_, x, shape, symbolic) => {
    await expectGradientsMatch({
      opType: 'Reshape',
      inputs: [
        { dims: x, symbolic },
        { dims: [shape.length], values: shape, dataType: DataType.INT64, constant: true },
      ],
    });
  });

  it.each([
    ['batch copied with 0', ['batch', 3, 4], [0, 12], 0],
    ['batch folded into another dim, inferred with -1', ['batch', 3, 4], [-1, 4], 0],
    ['two unknown dims read with Shape', ['batch', 'n', 4], [-1, 4], 1],
  ])('needs Shape only when the target cannot be a constant (%s)', (_, x, shape, shapes) => {
    const b = new GraphBuilder('reshape');
    b.input('x', DataType.FLOAT, x)
      .initializer('shape', { dataType: DataType.INT64, dims: [shape.length], values: shape.map(BigInt) })
      .node('Reshape', ['x', 'shape'], ['y'])
      .node('ReduceSum', ['y'], ['loss'], { keepdims: { type: 'int', value: 0 } })
      .output('loss', DataType.FLOAT, []);
    const { model } = buildGradientGraph(b.build(17), { loss: 'loss', wrt: ['x'] });
    const grads = model.graph.nodes.filter((n) => n.name.startsWith('grad/'));
    expect(grads.filter((n) => n.opType === 'Shape' && n.name.includes('Reshape'))).toHaveLength(shapes);
  });
});
