/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Exp's gradient against central finite differences.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Exp gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Exp', inputs: [{ dims: [2, 3, 4], range: [-2, 2] }] });
  });
});
