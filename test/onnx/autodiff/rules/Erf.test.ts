/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Erf's gradient against central finite differences (float32: onnxruntime's CPU Erf has no double kernel).
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Erf gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({
      opType: 'Erf',
      inputs: [{ dims: [2, 3, 4], range: [-2, 2] }],
      dtype: 'float32',
    });
  });
});
