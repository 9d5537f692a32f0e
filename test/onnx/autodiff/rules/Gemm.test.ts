/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Gemm's gradient against central finite differences over all transA/transB combinations with alpha/beta, a
// row-broadcast C, a scalar-like C and no C.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Gemm gradient', () => {
  it.each([
    [0, 0],
    [0, 1],
    [1, 0],
    [1, 1],
  ])('matches finite differences with transA %d transB %d', async (ta, tb) => {
    await expectGradientsMatch({
      opType: 'Gemm',
      inputs: [{ dims: ta ? [4, 3] : [3, 4] }, { dims: tb ? [5, 4] : [4, 5] }, { dims: [5] }],
      attrs: { transA: attr.int(ta), transB: attr.int(tb), alpha: attr.float(0.7), beta: attr.float(1.3) },
    });
  });

  it('matches finite differences with a [1, 1] C', async () => {
    await expectGradientsMatch({
      opType: 'Gemm',
      inputs: [{ dims: [3, 4] }, { dims: [5, 4] }, { dims: [1, 1] }],
      attrs: { transB: attr.int(1) },
    });
  });

  it('matches finite differences without C', async () => {
    await expectGradientsMatch({ opType: 'Gemm', inputs: [{ dims: [3, 4] }, { dims: [4, 2] }] });
  });
});
