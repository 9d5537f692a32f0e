/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Softmax's gradient against central finite differences: last axis, a middle axis, and the opset-12 coerced-2-D
// semantics (the sum runs over every axis from `axis` on).
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Softmax gradient', () => {
  it.each([
    ['default axis', undefined, 17],
    ['axis 1', 1, 17],
    ['opset 12, axis 1 (coerced to 2-D)', 1, 12],
  ])('matches finite differences (%s)', async (_, axis, opset) => {
    await expectGradientsMatch({
      opType: 'Softmax',
      inputs: [{ dims: [2, 3, 4], range: [-2, 2] }],
      opset,
      ...(axis === undefined ? {} : { attrs: { axis: attr.int(axis) } }),
    });
  });
});
