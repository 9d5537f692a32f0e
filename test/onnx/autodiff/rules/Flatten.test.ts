/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Flatten's gradient against central finite differences at the default and an explicit axis.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Flatten gradient', () => {
  it('matches finite differences (default axis)', async () => {
    await expectGradientsMatch({ opType: 'Flatten', inputs: [{ dims: [2, 3, 4] }] });
  });

  it('matches finite differences (axis 2)', async () => {
    await expectGradientsMatch({
      opType: 'Flatten',
      inputs: [{ dims: [2, 3, 4] }],
      attrs: { axis: attr.int(2) },
    });
  });
});
