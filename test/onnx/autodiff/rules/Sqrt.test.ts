/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Sqrt's gradient against central finite differences (positive inputs).
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Sqrt gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Sqrt', inputs: [{ dims: [2, 3, 4], range: [0.2, 3] }] });
  });
});
