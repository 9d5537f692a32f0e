/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Concat's gradient against central finite differences: three inputs, a negative axis, symbolic dims (run-time
// offsets), and an input that is not differentiated; the embedding splice read by Gather (one-hot rows instead
// of the table-sized gradient) with repeated, negative and int32 ids, and that it never builds the table gradient.

import { buildGradientGraph } from '../../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { attr } from '../../../../trainer-image/src/autodiff/grad-rule.ts';
import { GraphBuilder } from '../../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../../trainer-image/src/onnx/model.ts';
import { expectGradientsMatch } from '../../support/finite-difference.ts';

describe('Concat gradient', () => {
  it('matches finite differences on axis 1', async () => {
    await expectGradientsMatch({
      opType: 'Concat',
      inputs: [{ dims: [2, 1, 3] }, { dims: [2, 2, 3] }, { dims: [2, 3, 3] }],
      attrs: { axis: attr.int(1) },
    });
  });

  it('matches finite differences on a negative axis with symbolic dims', async () => {
    await expectGradientsMatch({
      opType: 'Concat',
      inputs: [
        { dims: [2, 3], symbolic: true },
        { dims: [2, 1], symbolic: true },
        { dims: [2, 2], symbolic: true },
      ],
      attrs: { axis: attr.int(-1) },
    });
  });

  it('matches finite differences when only the last input is differentiated (an embedding row spliced in)', async () => {
    await expectGradientsMatch({
      opType: 'Concat',
      inputs: [{ dims: [5, 3], constant: true }, { dims: [1, 3] }],
      attrs: { axis: attr.int(0) },
    });
  });

  it.each([
    ['one row, repeated ids', [1, 3], [0, 5, 2, 5, 1, 5], DataType.INT64, 1],
    ['two rows, negative ids', [2, 3], [-1, 5, 2, -2, 6, 0], DataType.INT64, 1],
    ['two rows, int32 ids, rows never used', [2, 3], [0, 1, 2, 3, 4, 0], DataType.INT32, 1],
    ['rows in the middle, axis -2 Gather', [2, 3], [4, 5, 6, 6, 2, 9], DataType.INT64, 2],
  ])('splice read by Gather matches finite differences (%s)', async (_, rowDims, ids, idType, tailRows) => {
    await expectGradientsMatch({
      opType: 'EmbeddingSplice',
      inputs: [
        { dims: [5, 3], constant: true },
        { dims: rowDims },
        ...(tailRows > 1 ? [{ dims: [3, 3], constant: true }] : []),
        { dims: [2, 3], values: ids, dataType: idType, check: false },
      ],
      subgraph: (b, names) => {
        const tables = names.slice(0, -1);
        const idsName = names[names.length - 1] ?? '';
        b.node('Concat', tables, ['grown'], { axis: attr.int(0) }).node(
          'Gather',
          ['grown', idsName],
          ['y0'],
          {
            axis: attr.int(tailRows > 1 ? -2 : 0),
          },
        );
      },
    });
  });

  it('gives spliced rows their gradient without a table-sized tensor', () => {
    const b = new GraphBuilder()
      .input('rows', DataType.FLOAT, [1, 8])
      .input('ids', DataType.INT64, [2, 4])
      .initializer('table', { dataType: DataType.FLOAT, dims: [1000, 8], values: new Array(8000).fill(0.5) })
      .node('Concat', ['table', 'rows'], ['grown'], { axis: attr.int(0) })
      .node('Gather', ['grown', 'ids'], ['z'])
      .node('ReduceSum', ['z'], ['loss'], { keepdims: attr.int(0) })
      .output('loss', DataType.FLOAT, []);
    const { model } = buildGradientGraph(b.build(17), { loss: 'loss', wrt: ['rows'] });
    const ops = model.graph.nodes.filter((n) => n.name.startsWith('grad/')).map((n) => n.opType);
    expect(ops).toContain('Gemm');
    expect(ops).not.toContain('ScatterND');
    expect(ops).not.toContain('Slice');
  });
});
