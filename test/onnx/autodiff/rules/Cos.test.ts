/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Cos's gradient against central finite differences.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Cos gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Cos', inputs: [{ dims: [2, 3, 4], range: [-3, 3] }] });
  });
});
