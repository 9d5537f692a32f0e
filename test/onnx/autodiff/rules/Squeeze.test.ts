/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Squeeze's gradient against central finite differences: axes as an input, no axes, and axes as an attribute.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Squeeze gradient', () => {
  it('matches finite differences with axes as an input', async () => {
    await expectGradientsMatch({
      opType: 'Squeeze',
      inputs: [{ dims: [2, 1, 3, 1] }, { dims: [1], values: [-1], dataType: DataType.INT64, constant: true }],
    });
  });

  it('matches finite differences without axes', async () => {
    await expectGradientsMatch({ opType: 'Squeeze', inputs: [{ dims: [2, 1, 3, 1] }] });
  });

  it('matches finite differences with axes as an attribute (opset 11)', async () => {
    await expectGradientsMatch({
      opType: 'Squeeze',
      inputs: [{ dims: [2, 1, 3] }],
      attrs: { axes: attr.ints([1]) },
      opset: 11,
    });
  });
});
