/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Mul's gradient against central finite differences, with broadcasting on either side.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Mul gradient', () => {
  it.each([
    ['same shapes', [2, 3], [2, 3]],
    ['row broadcast', [2, 3], [3]],
    ['unit axes both sides', [2, 1, 4], [3, 1]],
    ['scalar', [], [2, 2]],
  ])('matches finite differences (%s)', async (_, a, b) => {
    await expectGradientsMatch({ opType: 'Mul', inputs: [{ dims: a as number[] }, { dims: b as number[] }] });
  });
});
