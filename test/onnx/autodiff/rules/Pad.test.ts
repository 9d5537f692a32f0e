/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Pad's gradient (constant mode) against central finite differences: positive pads, negative pads (cropping),
// run-time pads with symbolic dims, the opset-18 axes input, and the error for reflect mode.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { checkGradient, expectGradientsMatch } from '../../support/finite-difference.ts';

const ints = (v: number[], constant = true) => ({
  dims: [v.length],
  values: v,
  dataType: DataType.INT64,
  constant,
  check: false,
});

describe('Pad gradient', () => {
  it('matches finite differences with positive pads and a constant value', async () => {
    await expectGradientsMatch({
      opType: 'Pad',
      inputs: [{ dims: [2, 3] }, ints([1, 0, 0, 2]), { dims: [], values: [0.5], constant: true }],
    });
  });

  it('matches finite differences with cropping pads', async () => {
    await expectGradientsMatch({ opType: 'Pad', inputs: [{ dims: [3, 4] }, ints([-1, 1, 0, -2])] });
  });

  it('matches finite differences with run-time pads and symbolic dims', async () => {
    await expectGradientsMatch({
      opType: 'Pad',
      inputs: [{ dims: [3, 4], symbolic: true }, ints([0, -1, 2, 1], false)],
    });
  });

  it('matches finite differences with axes (opset 18)', async () => {
    await expectGradientsMatch({
      opType: 'Pad',
      inputs: [{ dims: [2, 3, 4] }, ints([1, -1, 0, 2]), null, ints([2, 0])],
      opset: 18,
    });
  });

  it('names the node for reflect mode', async () => {
    await expect(
      checkGradient({
        opType: 'Pad',
        inputs: [{ dims: [3, 4] }, ints([1, 1, 1, 1])],
        attrs: { mode: attr.string('reflect') },
      }),
    ).rejects.toThrow("Pad node 'under_test': no gradient for mode reflect");
  });
});
