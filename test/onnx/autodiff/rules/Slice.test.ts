/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Slice's gradient against central finite differences: unit steps with static pads, negative and out-of-range
// indices, symbolic dims and run-time starts (pads computed in the graph), and steps 2 and −1 (scatter path).
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

const ints = (v: number[], constant = true) => ({
  dims: [v.length],
  values: v,
  dataType: DataType.INT64,
  constant,
  check: false,
});

describe('Slice gradient', () => {
  it('matches finite differences with unit steps on two axes', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [4, 5, 3] }, ints([1, 1]), ints([3, 4]), ints([0, 1])],
    });
  });

  it('matches finite differences with negative and out-of-range indices, no axes', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [4, 5] }, ints([-3, 2]), ints([1000, -1])],
    });
  });

  it('matches finite differences with symbolic dims and run-time starts/ends', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [4, 6], symbolic: true }, ints([1, -4], false), ints([3, 9], false), ints([0, 1])],
    });
  });

  it('matches finite differences with steps 2 and -1', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [5, 4] }, ints([0, -1]), ints([5, -1000]), ints([0, 1]), ints([2, -1])],
    });
  });

  it('matches finite differences with a step and run-time ends', async () => {
    await expectGradientsMatch({
      opType: 'Slice',
      inputs: [{ dims: [3, 7], symbolic: true }, ints([1], false), ints([6], false), ints([1]), ints([2])],
    });
  });
});
