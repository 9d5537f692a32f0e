/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Sin's gradient against central finite differences.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Sin gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({ opType: 'Sin', inputs: [{ dims: [2, 3, 4], range: [-3, 3] }] });
  });
});
