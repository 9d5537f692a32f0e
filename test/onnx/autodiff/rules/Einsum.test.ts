/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Einsum's gradient against central finite differences for the forms older exports use (batched matmul,
// attention scores), a transpose, a letter summed out of one operand, implicit outputs and `...` (which need the
// output rank from shape inference); a diagonal is an error that names the node.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { checkGradient, expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Einsum gradient', () => {
  it.each([
    [
      'bij,bjk->bik',
      [
        [2, 3, 4],
        [2, 4, 5],
      ],
    ],
    [
      'b i d, b j d -> b i j',
      [
        [2, 3, 4],
        [2, 5, 4],
      ],
    ],
    ['ij->ji', [[3, 4]]],
    [
      'ij,jk->i',
      [
        [3, 4],
        [4, 2],
      ],
    ],
  ])('matches finite differences (%s)', async (equation, shapes) => {
    await expectGradientsMatch({
      opType: 'Einsum',
      inputs: (shapes as number[][]).map((dims) => ({ dims })),
      attrs: { equation: attr.string(equation as string) },
    });
  });

  it.each([
    [
      'implicit output',
      'ij,jk',
      [
        [3, 4],
        [4, 2],
      ],
    ],
    ['implicit transpose', 'ji', [[3, 4]]],
    [
      'ellipsis batch',
      '...ij,...jk->...ik',
      [
        [2, 3, 4],
        [2, 4, 5],
      ],
    ],
    [
      'implicit output with ellipsis',
      '...ij,...jk',
      [
        [2, 3, 4],
        [2, 4, 5],
      ],
    ],
    [
      'ellipsis broadcast over unit axes',
      '...id,...jd->...ij',
      [
        [2, 1, 3, 4],
        [1, 2, 5, 4],
      ],
    ],
    ['ellipsis in the middle', 'i...j->j...i', [[3, 2, 4]]],
  ])('matches finite differences (%s: %s)', async (_, equation, shapes) => {
    await expectGradientsMatch({
      opType: 'Einsum',
      inputs: (shapes as number[][]).map((dims) => ({ dims })),
      attrs: { equation: attr.string(equation as string) },
    });
  });

  it('names the node for a repeated subscript', async () => {
    await expect(
      checkGradient({
        opType: 'Einsum',
        inputs: [{ dims: [3, 3] }],
        attrs: { equation: attr.string('ii->i') },
      }),
    ).rejects.toThrow("Einsum node 'under_test'");
  });
});
