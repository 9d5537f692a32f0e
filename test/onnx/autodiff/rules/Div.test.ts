/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Div's gradient against central finite differences, broadcasting on either side (divisors kept away from 0).
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Div gradient', () => {
  it.each([
    ['same shapes', [2, 3], [2, 3]],
    ['divisor broadcast', [2, 3], [3]],
    ['dividend broadcast', [3], [2, 3]],
  ])('matches finite differences (%s)', async (_, a, b) => {
    await expectGradientsMatch({
      opType: 'Div',
      inputs: [{ dims: a as number[] }, { dims: b as number[], range: [0.5, 2] }],
    });
  });
});
