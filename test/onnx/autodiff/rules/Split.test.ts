/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Split's gradient against central finite differences: split sizes as an input (opset 13+), num_outputs
// (opset 18), the attribute form (opset 11), and an output that gets no gradient (zeros in its place).
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Split gradient', () => {
  it('matches finite differences with split as an input', async () => {
    await expectGradientsMatch({
      opType: 'Split',
      inputs: [{ dims: [2, 6] }, { dims: [3], values: [1, 2, 3], dataType: DataType.INT64, constant: true }],
      attrs: { axis: attr.int(1) },
      outputs: 3,
    });
  });

  it('matches finite differences with num_outputs (opset 18), one output unused', async () => {
    await expectGradientsMatch({
      opType: 'Split',
      inputs: [{ dims: [4, 3] }],
      attrs: { num_outputs: attr.int(2) },
      outputs: 2,
      lossOutputs: [1],
      opset: 18,
    });
  });

  it('matches finite differences with split as an attribute (opset 11)', async () => {
    await expectGradientsMatch({
      opType: 'Split',
      inputs: [{ dims: [2, 5] }],
      attrs: { axis: attr.int(-1), split: attr.ints([2, 3]) },
      outputs: 2,
      opset: 11,
    });
  });
});
