/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Tanh's gradient against central finite differences.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Tanh gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Tanh', inputs: [{ dims: [2, 3, 4], range: [-2, 2] }] });
  });
});
