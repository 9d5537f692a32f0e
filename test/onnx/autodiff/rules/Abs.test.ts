/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Abs's gradient against central finite differences.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Abs gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Abs', inputs: [{ dims: [3, 4] }] });
  });
});
