/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Unsqueeze's gradient against central finite differences: axes as an input (opset 13+) and as an attribute.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Unsqueeze gradient', () => {
  it('matches finite differences with axes as an input', async () => {
    await expectGradientsMatch({
      opType: 'Unsqueeze',
      inputs: [{ dims: [2, 3] }, { dims: [2], values: [0, -1], dataType: DataType.INT64, constant: true }],
    });
  });

  it('matches finite differences with axes as an attribute (opset 11)', async () => {
    await expectGradientsMatch({
      opType: 'Unsqueeze',
      inputs: [{ dims: [2, 3] }],
      attrs: { axes: attr.ints([1]) },
      opset: 11,
    });
  });
});
