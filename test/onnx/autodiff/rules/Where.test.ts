/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Where's gradient against central finite differences, with the condition and both branches broadcasting.
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Where gradient', () => {
  it('matches finite differences with same shapes', async () => {
    await expectGradientsMatch({
      opType: 'Where',
      inputs: [
        { dims: [2, 3], values: [1, 0, 1, 0, 0, 1], dataType: DataType.BOOL },
        { dims: [2, 3] },
        { dims: [2, 3] },
      ],
    });
  });

  it('matches finite differences with broadcasting (causal-mask style)', async () => {
    await expectGradientsMatch({
      opType: 'Where',
      inputs: [
        { dims: [3, 3], values: [1, 0, 0, 1, 1, 0, 1, 1, 1], dataType: DataType.BOOL, constant: true },
        { dims: [2, 3, 3] },
        { dims: [], values: [-3], check: true },
      ],
    });
  });
});
