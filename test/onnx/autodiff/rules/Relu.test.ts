/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Relu's gradient against central finite differences (random inputs, none within the step of the kink).
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Relu gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Relu', inputs: [{ dims: [2, 3, 4], range: [-1, 1] }] });
  });
});
