/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// LayerNormalization's gradient against central finite differences (x, scale and bias): the last axis, the last
// two axes, and no bias.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('LayerNormalization gradient', () => {
  it('matches finite differences over the last axis', async () => {
    await expectGradientsMatch({
      opType: 'LayerNormalization',
      inputs: [{ dims: [2, 3, 5], range: [-2, 2] }, { dims: [5] }, { dims: [5] }],
      attrs: { epsilon: attr.float(1e-5) },
    });
  });

  it('matches finite differences over the last two axes without bias', async () => {
    await expectGradientsMatch({
      opType: 'LayerNormalization',
      inputs: [{ dims: [2, 3, 4], range: [-2, 2] }, { dims: [3, 4] }],
      attrs: { axis: attr.int(1) },
    });
  });

  it('matches finite differences in float32 (stash_type 1)', async () => {
    await expectGradientsMatch({
      opType: 'LayerNormalization',
      inputs: [{ dims: [2, 8], range: [-2, 2] }, { dims: [8] }, { dims: [8] }],
      attrs: { stash_type: attr.int(1) },
      dtype: 'float32',
    });
  });
});
