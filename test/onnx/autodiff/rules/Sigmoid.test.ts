/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Sigmoid's gradient against central finite differences.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Sigmoid gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Sigmoid', inputs: [{ dims: [2, 3, 4], range: [-3, 3] }] });
  });
});
