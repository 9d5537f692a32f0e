/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Pow's gradient against central finite differences: constant exponents (square, square root, float32 exponent
// on a double base) and a differentiable, broadcast exponent.
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Pow gradient', () => {
  it.each([2, 0.5, 3])('matches finite differences with constant exponent %d', async (e) => {
    await expectGradientsMatch({
      opType: 'Pow',
      inputs: [
        { dims: [2, 3], range: [0.3, 2] },
        { dims: [], values: [e], constant: true },
      ],
    });
  });

  it('matches finite differences with an exponent of another type', async () => {
    await expectGradientsMatch({
      opType: 'Pow',
      inputs: [
        { dims: [2, 3], range: [0.3, 2] },
        { dims: [], values: [2], dataType: DataType.FLOAT, constant: true },
      ],
    });
  });

  it('matches finite differences for a broadcast, differentiable exponent', async () => {
    await expectGradientsMatch({
      opType: 'Pow',
      inputs: [
        { dims: [2, 3], range: [0.3, 2] },
        { dims: [3], range: [-1.5, 1.5] },
      ],
    });
  });
});
