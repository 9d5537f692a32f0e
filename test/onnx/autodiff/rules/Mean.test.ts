/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Mean's gradient against central finite differences: three inputs with broadcasting, in float32
// (onnxruntime's CPU Mean has no double kernel).
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Mean gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({
      opType: 'Mean',
      inputs: [{ dims: [2, 3] }, { dims: [3] }, { dims: [2, 1] }],
      dtype: 'float32',
    });
  });
});
