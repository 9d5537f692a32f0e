/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Concat's gradient against central finite differences: three inputs, a negative axis, symbolic dims (run-time
// offsets), and an input that is not differentiated.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Concat gradient', () => {
  it('matches finite differences on axis 1', async () => {
    await expectGradientsMatch({
      opType: 'Concat',
      inputs: [{ dims: [2, 1, 3] }, { dims: [2, 2, 3] }, { dims: [2, 3, 3] }],
      attrs: { axis: attr.int(1) },
    });
  });

  it('matches finite differences on a negative axis with symbolic dims', async () => {
    await expectGradientsMatch({
      opType: 'Concat',
      inputs: [
        { dims: [2, 3], symbolic: true },
        { dims: [2, 1], symbolic: true },
        { dims: [2, 2], symbolic: true },
      ],
      attrs: { axis: attr.int(-1) },
    });
  });

  it('matches finite differences when only the last input is differentiated (an embedding row spliced in)', async () => {
    await expectGradientsMatch({
      opType: 'Concat',
      inputs: [{ dims: [5, 3], constant: true }, { dims: [1, 3] }],
      attrs: { axis: attr.int(0) },
    });
  });
});
