/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// LeakyRelu's gradient against central finite differences, default and explicit alpha.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('LeakyRelu gradient', () => {
  it('matches finite differences (default alpha)', async () => {
    await expectGradientsMatch({ opType: 'LeakyRelu', inputs: [{ dims: [3, 4] }] });
  });

  it('matches finite differences (alpha 0.2)', async () => {
    await expectGradientsMatch({
      opType: 'LeakyRelu',
      inputs: [{ dims: [3, 4] }],
      attrs: { alpha: attr.float(0.2) },
    });
  });
});
