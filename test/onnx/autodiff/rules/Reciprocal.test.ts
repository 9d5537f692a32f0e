/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Reciprocal's gradient against central finite differences (inputs away from 0).
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Reciprocal gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Reciprocal', inputs: [{ dims: [2, 3, 4], range: [0.5, 2] }] });
  });
});
