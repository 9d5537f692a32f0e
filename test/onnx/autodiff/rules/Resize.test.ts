/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Resize's gradient against central finite differences for nearest 2× upsampling as SD exports write it (scales
// input, asymmetric + floor; half_pixel + round_prefer_floor; constant sizes; sizes known only at run time), in
// float32 (CPU kernel), and the error for a mode it cannot differentiate.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { checkGradient, expectGradientsMatch } from '../../support/finite-difference.ts';

const roi = { dims: [0], values: [], dataType: DataType.FLOAT, constant: true };
const scales = (v: number[]) => ({ dims: [v.length], values: v, dataType: DataType.FLOAT, constant: true });

describe('Resize gradient', () => {
  it('matches finite differences (asymmetric, floor, scales 2)', async () => {
    await expectGradientsMatch({
      opType: 'Resize',
      inputs: [{ dims: [1, 2, 3, 3] }, roi, scales([1, 1, 2, 2])],
      attrs: {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string('asymmetric'),
        nearest_mode: attr.string('floor'),
      },
      dtype: 'float32',
    });
  });

  it('matches finite differences (half_pixel defaults, scale 3 on one axis)', async () => {
    await expectGradientsMatch({
      opType: 'Resize',
      inputs: [{ dims: [1, 2, 2, 3], symbolic: true }, null, scales([1, 1, 3, 1])],
      attrs: { mode: attr.string('nearest') },
      dtype: 'float32',
    });
  });

  it('matches finite differences with constant sizes', async () => {
    await expectGradientsMatch({
      opType: 'Resize',
      inputs: [
        { dims: [1, 2, 3, 2] },
        null,
        null,
        { dims: [4], values: [1, 2, 6, 4], dataType: DataType.INT64, constant: true },
      ],
      attrs: {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string('asymmetric'),
        nearest_mode: attr.string('floor'),
      },
      dtype: 'float32',
    });
  });

  it.each([
    ['asymmetric', 'floor', [1, 2, 6, 4]],
    ['half_pixel', 'round_prefer_floor', [1, 2, 9, 2]],
  ])('matches finite differences with run-time sizes (%s, %s)', async (ctm, nearest, sizes) => {
    await expectGradientsMatch({
      opType: 'Resize',
      inputs: [
        { dims: [1, 2, 3, 2], symbolic: true },
        null,
        null,
        { dims: [4], values: sizes as number[], dataType: DataType.INT64, check: false },
      ],
      attrs: {
        mode: attr.string('nearest'),
        coordinate_transformation_mode: attr.string(ctm as string),
        nearest_mode: attr.string(nearest as string),
      },
      dtype: 'float32',
    });
  });

  it('names the node for linear mode', async () => {
    await expect(
      checkGradient({
        opType: 'Resize',
        inputs: [{ dims: [1, 1, 2, 2] }, roi, scales([1, 1, 2, 2])],
        attrs: { mode: attr.string('linear') },
        dtype: 'float32',
      }),
    ).rejects.toThrow("Resize node 'under_test': no gradient for mode linear");
  });
});
