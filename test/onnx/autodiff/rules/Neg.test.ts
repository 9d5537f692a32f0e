/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Neg's gradient against central finite differences.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Neg gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Neg', inputs: [{ dims: [2, 3] }] });
  });
});
