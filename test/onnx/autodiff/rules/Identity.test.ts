/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Identity's gradient against central finite differences.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Identity gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Identity', inputs: [{ dims: [2, 3] }] });
  });
});
