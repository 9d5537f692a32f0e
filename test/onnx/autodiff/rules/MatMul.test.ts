/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// MatMul's gradient against central finite differences: 2-D, batched, broadcast batch axes, and the 1-D forms.
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('MatMul gradient', () => {
  it.each([
    ['2-D', [3, 4], [4, 5]],
    ['batched', [2, 3, 4], [2, 4, 5]],
    ['batched times 2-D', [2, 3, 4], [4, 5]],
    ['broadcast batch axes', [2, 1, 3, 4], [3, 4, 2]],
    ['vector times matrix', [4], [2, 4, 3]],
    ['matrix times vector', [2, 3, 4], [4]],
    ['vector times vector', [4], [4]],
    ['narrow A (computed transposed)', [2, 12, 3], [2, 3, 12]],
    ['narrow B (computed transposed)', [2, 12, 12], [2, 12, 2]],
    ['narrow A times 2-D B', [2, 12, 2], [2, 12]],
    ['2-D A times narrow B', [12, 12], [3, 12, 2]],
    ['narrow, broadcast batch axes', [2, 1, 12, 2], [3, 2, 12]],
  ])('matches finite differences (%s)', async (_, a, b) => {
    await expectGradientsMatch({
      opType: 'MatMul',
      inputs: [{ dims: a as number[] }, { dims: b as number[] }],
    });
  });

  it('matches finite differences with symbolic dims', async () => {
    await expectGradientsMatch({
      opType: 'MatMul',
      inputs: [
        { dims: [2, 1, 3, 4], symbolic: true },
        { dims: [3, 4, 2], symbolic: true },
      ],
    });
  });

  it('matches finite differences with narrow gradients and symbolic dims', async () => {
    await expectGradientsMatch({
      opType: 'MatMul',
      inputs: [
        { dims: [2, 1, 12, 2], symbolic: true },
        { dims: [3, 2, 12], symbolic: true },
      ],
    });
  });
});
