/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// InstanceNormalization's gradient against central finite differences (x, scale, bias), in float32 (onnxruntime's
// CPU kernel has no double), 2-D and 1-D spatial, as GroupNorm exports use it (scale 1, bias 0), and both ways of
// getting the statistics (fused from opset 17, step by step before).
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('InstanceNormalization gradient', () => {
  it('matches finite differences (2-D spatial)', async () => {
    await expectGradientsMatch({
      opType: 'InstanceNormalization',
      inputs: [{ dims: [2, 3, 3, 4], range: [-2, 2] }, { dims: [3] }, { dims: [3] }],
      dtype: 'float32',
    });
  });

  it('matches finite differences (GroupNorm form, 1-D spatial, constant scale and bias)', async () => {
    await expectGradientsMatch({
      opType: 'InstanceNormalization',
      inputs: [
        { dims: [2, 2, 12], range: [-2, 2] },
        { dims: [2], values: [1, 1], constant: true },
        { dims: [2], values: [0, 0], constant: true },
      ],
      dtype: 'float32',
    });
  });

  it.each([
    ['opset 14: statistics step by step', 14, false],
    ['symbolic dims: run-time unit scale for the fused statistics', 17, true],
  ])('matches finite differences (%s)', async (_, opset, symbolic) => {
    await expectGradientsMatch({
      opType: 'InstanceNormalization',
      inputs: [{ dims: [2, 3, 4, 2], range: [-2, 2], symbolic }, { dims: [3] }, { dims: [3] }],
      dtype: 'float32',
      opset,
    });
  });
});
