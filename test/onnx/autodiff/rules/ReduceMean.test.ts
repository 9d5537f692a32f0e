/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// ReduceMean's gradient against central finite differences: axes as an attribute (opset 17) and as an input
// (opset 18), with and without keepdims, and over all axes.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('ReduceMean gradient', () => {
  it.each([0, 1])('matches finite differences with axes as an attribute (keepdims %d)', async (keepdims) => {
    await expectGradientsMatch({
      opType: 'ReduceMean',
      inputs: [{ dims: [2, 3, 4] }],
      attrs: { axes: attr.ints([-1]), keepdims: attr.int(keepdims) },
    });
  });

  it('matches finite differences with axes as an input (opset 18)', async () => {
    await expectGradientsMatch({
      opType: 'ReduceMean',
      inputs: [{ dims: [2, 3, 4] }, { dims: [2], values: [0, 2], dataType: DataType.INT64, constant: true }],
      attrs: { keepdims: attr.int(0) },
      opset: 18,
    });
  });

  it('matches finite differences over all axes with symbolic dims', async () => {
    await expectGradientsMatch({ opType: 'ReduceMean', inputs: [{ dims: [2, 3], symbolic: true }] });
  });
});
