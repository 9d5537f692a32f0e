/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Tile's gradient against central finite differences: constant repeats and run-time repeats with symbolic dims.
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Tile gradient', () => {
  it('matches finite differences with constant repeats', async () => {
    await expectGradientsMatch({
      opType: 'Tile',
      inputs: [{ dims: [2, 3] }, { dims: [2], values: [3, 2], dataType: DataType.INT64, constant: true }],
    });
  });

  it('matches finite differences with run-time repeats', async () => {
    await expectGradientsMatch({
      opType: 'Tile',
      inputs: [
        { dims: [2, 1, 3], symbolic: true },
        { dims: [3], values: [1, 4, 2], dataType: DataType.INT64, check: false },
      ],
    });
  });
});
