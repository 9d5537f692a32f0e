/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// CastLike's gradient against central finite differences: double cast like a float tensor (which gets none).
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('CastLike gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({
      opType: 'CastLike',
      inputs: [{ dims: [2, 3] }, { dims: [1], values: [0], dataType: DataType.FLOAT, constant: true }],
      precision: 'float32',
    });
  });
});
