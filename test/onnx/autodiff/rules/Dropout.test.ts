/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Dropout's gradient in inference mode (as exports leave it) against central finite differences, and the error
// for training mode.
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { checkGradient, expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Dropout gradient', () => {
  it('matches finite differences in inference mode', async () => {
    await expectGradientsMatch({ opType: 'Dropout', inputs: [{ dims: [2, 3] }] });
  });

  it('names the node in training mode', async () => {
    await expect(
      checkGradient({
        opType: 'Dropout',
        inputs: [
          { dims: [2, 3] },
          { dims: [], values: [0.5], constant: true },
          { dims: [], values: [1], dataType: DataType.BOOL, constant: true },
        ],
      }),
    ).rejects.toThrow("Dropout node 'under_test': no gradient in training mode");
  });
});
