/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Transpose's gradient against central finite differences, with a permutation and with the default (reverse).
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Transpose gradient', () => {
  it('matches finite differences with perm', async () => {
    await expectGradientsMatch({
      opType: 'Transpose',
      inputs: [{ dims: [2, 3, 4] }],
      attrs: { perm: attr.ints([1, 2, 0]) },
    });
  });

  it('matches finite differences with the default perm', async () => {
    await expectGradientsMatch({ opType: 'Transpose', inputs: [{ dims: [2, 3, 4] }] });
  });
});
