/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Cast's gradient against central finite differences: double → float and back (the rule casts dy to x's type),
// and zero through a cast to an integer type.
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Cast gradient', () => {
  it('matches finite differences double → float', async () => {
    await expectGradientsMatch({
      opType: 'Cast',
      inputs: [{ dims: [2, 3] }],
      attrs: { to: attr.int(DataType.FLOAT) },
      precision: 'float32',
    });
  });

  it('matches finite differences float → double', async () => {
    await expectGradientsMatch({
      opType: 'Cast',
      inputs: [{ dims: [2, 3] }],
      attrs: { to: attr.int(DataType.DOUBLE) },
      dtype: 'float32',
    });
  });

  it('has a zero gradient through a cast to an integer type', async () => {
    const report = await expectGradientsMatch({
      opType: 'Cast',
      inputs: [{ dims: [2, 3], range: [-2.9, 2.9] }],
      attrs: { to: attr.int(DataType.INT64) },
    });
    expect(report.inputs[0]?.maxAbsGrad).toBe(0);
  });
});
