/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Gather's gradient against central finite differences: an embedding lookup with repeated and negative indices
// at opset 17 (ScatterND add) and opset 14 (one-hot MatMul), a non-zero axis, and a scalar index.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

const indices = (dims: number[], values: number[], constant = false) => ({
  dims,
  values,
  dataType: DataType.INT64,
  constant,
  check: false,
});

describe('Gather gradient', () => {
  it.each([17, 14])('matches finite differences for an embedding lookup (opset %d)', async (opset) => {
    await expectGradientsMatch({
      opType: 'Gather',
      inputs: [{ dims: [6, 3] }, indices([2, 4], [0, 5, 5, 2, 1, -1, 3, 5])],
      opset,
    });
  });

  it.each([17, 14])('matches finite differences on axis 1 (opset %d)', async (opset) => {
    await expectGradientsMatch({
      opType: 'Gather',
      inputs: [{ dims: [2, 5, 3] }, indices([3], [4, 0, 4], true)],
      attrs: { axis: attr.int(1) },
      opset,
    });
  });

  it.each([17, 14])(
    'matches finite differences for a scalar index on the last axis (opset %d)',
    async (opset) => {
      await expectGradientsMatch({
        opType: 'Gather',
        inputs: [{ dims: [2, 4], symbolic: true }, indices([], [-2])],
        attrs: { axis: attr.int(-1) },
        opset,
      });
    },
  );
});
