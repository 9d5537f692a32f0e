/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Add's gradient against central finite differences, broadcasting on either side (static and symbolic dims).
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Add gradient', () => {
  it.each([
    ['same shapes', [2, 3], [2, 3]],
    ['row broadcast', [2, 3], [3]],
    ['unit axes both sides', [2, 1, 4], [3, 1]],
    ['scalar', [], [2, 2]],
  ])('matches finite differences (%s)', async (_, a, b) => {
    await expectGradientsMatch({ opType: 'Add', inputs: [{ dims: a as number[] }, { dims: b as number[] }] });
  });

  it('matches finite differences with symbolic dims (run-time unbroadcast)', async () => {
    await expectGradientsMatch({
      opType: 'Add',
      inputs: [
        { dims: [2, 1, 4], symbolic: true },
        { dims: [3, 1], symbolic: true },
      ],
    });
  });
});
