/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Sub's gradient against central finite differences, broadcasting on either side.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Sub gradient', () => {
  it.each([
    ['same shapes', [2, 3], [2, 3]],
    ['broadcast both sides', [2, 1, 4], [3, 1]],
  ])('matches finite differences (%s)', async (_, a, b) => {
    await expectGradientsMatch({ opType: 'Sub', inputs: [{ dims: a as number[] }, { dims: b as number[] }] });
  });
});
