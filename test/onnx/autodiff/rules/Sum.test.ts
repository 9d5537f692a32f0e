/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Sum's gradient against central finite differences: three inputs with broadcasting.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Sum gradient', () => {
  it('matches finite differences', async () => {
    await expectGradientsMatch({
      opType: 'Sum',
      inputs: [{ dims: [2, 3] }, { dims: [3] }, { dims: [2, 1] }],
    });
  });
});
