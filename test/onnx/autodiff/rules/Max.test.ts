/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Max's gradient against central finite differences: two inputs with broadcasting, three inputs, and an exact
// tie that shares the gradient evenly (as PyTorch does).
import { checkGradient, expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Max gradient', () => {
  it('matches finite differences with broadcasting', async () => {
    await expectGradientsMatch({ opType: 'Max', inputs: [{ dims: [2, 3] }, { dims: [3] }] });
  });

  it('matches finite differences with three inputs', async () => {
    await expectGradientsMatch({ opType: 'Max', inputs: [{ dims: [4] }, { dims: [4] }, { dims: [4] }] });
  });

  it('splits a tie evenly', async () => {
    // At a tie the two one-sided derivatives differ; their mean (what central differences see) is the even split.
    const report = await checkGradient({
      opType: 'Max',
      inputs: [
        { dims: [2], values: [0.5, 0.1] },
        { dims: [2], values: [0.5, 0.3] },
      ],
    });
    expect(report.ok).toBe(true);
  });
});
