/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Clip's gradient against central finite differences: both bounds, one bound, and none (bounds as inputs).
import { expectGradientsMatch } from '../../support/finite-difference.ts';

const bound = (v: number) => ({ dims: [], values: [v], constant: true });

describe('Clip gradient', () => {
  it('matches finite differences with both bounds', async () => {
    await expectGradientsMatch({
      opType: 'Clip',
      inputs: [{ dims: [3, 4], range: [-2, 2] }, bound(-0.77), bound(0.93)],
    });
  });

  it('matches finite differences with only an upper bound', async () => {
    await expectGradientsMatch({
      opType: 'Clip',
      inputs: [{ dims: [3, 4], range: [-2, 2] }, null, bound(0.31)],
    });
  });

  it('matches finite differences without bounds', async () => {
    await expectGradientsMatch({ opType: 'Clip', inputs: [{ dims: [3, 4] }] });
  });
});
