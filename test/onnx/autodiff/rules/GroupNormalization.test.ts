/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// GroupNormalization's gradient against central finite differences (x, scale, bias): per-group scale and bias
// (opset 18) and per-channel (opset 21).
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('GroupNormalization gradient', () => {
  it('matches finite differences with per-group scale (opset 18)', async () => {
    await expectGradientsMatch({
      opType: 'GroupNormalization',
      inputs: [{ dims: [2, 4, 3, 2], range: [-2, 2] }, { dims: [2] }, { dims: [2] }],
      attrs: { num_groups: attr.int(2) },
      opset: 18,
    });
  });

  it('matches finite differences with per-channel scale (opset 21)', async () => {
    await expectGradientsMatch({
      opType: 'GroupNormalization',
      inputs: [{ dims: [2, 4, 5], range: [-2, 2] }, { dims: [4] }, { dims: [4] }],
      attrs: { num_groups: attr.int(2) },
      opset: 21,
      // Opset 21 normalizes in stash_type (float32) even for double inputs.
      precision: 'float32',
    });
  });
});
