/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Expand's gradient against central finite differences: unit axes and new leading axes.
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

const shape = (v: number[]) => ({ dims: [v.length], values: v, dataType: DataType.INT64, constant: true });

describe('Expand gradient', () => {
  it.each([
    ['unit axis and a new leading axis', [3, 1], [2, 3, 4]],
    ['shape smaller than the input', [2, 3], [1, 3]],
  ])('matches finite differences (%s)', async (_, x, s) => {
    await expectGradientsMatch({ opType: 'Expand', inputs: [{ dims: x }, shape(s)] });
  });

  it('matches finite differences with symbolic dims', async () => {
    await expectGradientsMatch({
      opType: 'Expand',
      inputs: [{ dims: [3, 1], symbolic: true }, shape([2, 3, 4])],
    });
  });
});
