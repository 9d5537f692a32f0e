/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Reshape's gradient against central finite differences (a constant target shape with -1 and 0).

import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Reshape gradient', () => {
  it.each([
    ['-1', [2, 3, 4], [-1, 4]],
    ['0 copies a dim', [2, 3, 4], [0, 12]],
  ])('matches finite differences (%s)', async (_, x, shape) => {
    await expectGradientsMatch({
      opType: 'Reshape',
      inputs: [
        { dims: x },
        { dims: [shape.length], values: shape, dataType: DataType.INT64, constant: true },
      ],
    });
  });
});
