/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// ReduceSum's gradient against central finite differences: axes as an input with and without keepdims, no axes,
// noop_with_empty_axes, and the opset-11 attribute form.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

const axes = (v: number[]) => ({ dims: [v.length], values: v, dataType: DataType.INT64, constant: true });

describe('ReduceSum gradient', () => {
  it.each([0, 1])('matches finite differences with axes as an input (keepdims %d)', async (keepdims) => {
    await expectGradientsMatch({
      opType: 'ReduceSum',
      inputs: [{ dims: [2, 3, 4] }, axes([0, -1])],
      attrs: { keepdims: attr.int(keepdims) },
    });
  });

  it('matches finite differences over all axes', async () => {
    await expectGradientsMatch({
      opType: 'ReduceSum',
      inputs: [{ dims: [2, 3] }],
      attrs: { keepdims: attr.int(0) },
    });
  });

  it('matches finite differences with noop_with_empty_axes', async () => {
    await expectGradientsMatch({
      opType: 'ReduceSum',
      inputs: [{ dims: [2, 3] }],
      attrs: { noop_with_empty_axes: attr.int(1) },
    });
  });

  it('matches finite differences with axes as an attribute (opset 11)', async () => {
    await expectGradientsMatch({
      opType: 'ReduceSum',
      inputs: [{ dims: [2, 3, 4] }],
      attrs: { axes: attr.ints([1]), keepdims: attr.int(0) },
      opset: 11,
    });
  });
});
