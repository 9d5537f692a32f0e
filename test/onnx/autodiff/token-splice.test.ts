/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The gradient of the spliced token rows (surgery's Gather/Where lookup): each row gets the output gradient summed
// over the positions whose id selects it (repeated, negative and int32 ids included), and nothing in the gradient
// graph reads the frozen table.
import { buildGradientGraph } from '../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import { spliceEmbeddingRows } from '../../../trainer-image/src/onnx/surgery.ts';
import { Session } from '../../../trainer-image/src/runtime/session.ts';

const VOCAB = 5;
const D = 3;
const N_ROWS = 2;

function model(idsType: number, opset: number) {
  const table = Array.from({ length: VOCAB * D }, (_, i) => i / 10);
  const weights = Array.from({ length: 2 * 4 * D }, (_, i) => Math.sin(i + 1));
  const encoder = new GraphBuilder('te')
    .input('input_ids', idsType, ['batch', 4])
    .initializer('table', { dataType: DataType.FLOAT, dims: [VOCAB, D], values: table })
    .initializer('w', { dataType: DataType.FLOAT, dims: [2, 4, D], values: weights })
    .node('Gather', ['table', 'input_ids'], ['emb'], { axis: { type: 'int', value: 0 } })
    .node('Mul', ['emb', 'w'], ['weighted'])
    .node('ReduceSum', ['weighted'], ['loss'], { keepdims: { type: 'int', value: 0 } })
    .output('loss', DataType.FLOAT, [])
    .build(opset);
  const spliced = spliceEmbeddingRows(encoder.graph, {
    idsInput: 'input_ids',
    rowsInput: 'rows',
    nRows: N_ROWS,
  });
  return { model: { ...encoder, graph: spliced.graph }, weights };
}

describe('token splice gradient', () => {
  it.each([
    ['int64 ids, opset 17', DataType.INT64, 17],
    ['int32 ids, opset 17', DataType.INT32, 17],
    ['int64 ids, opset 14 (one-hot scatter)', DataType.INT64, 14],
  ])('sums the output gradient per selected row (%s)', async (_, idsType, opset) => {
    const { model: m, weights } = model(idsType, opset);
    const { model: grad, gradients } = buildGradientGraph(m, { loss: 'loss', wrt: ['rows'] });
    const tableReaders = grad.graph.nodes.filter(
      (n) => n.name.startsWith('grad/') && n.inputs.includes('table'),
    );
    expect(tableReaders).toHaveLength(0);
    // ids 5 and 6 are the new rows; −1 is the last new row (6), −7 is table row 0.
    const ids = [5, 1, 6, 5, -1, 0, 5, -7];
    const session = await Session.create(encodeModel(grad));
    const out = await session.run({
      input_ids:
        idsType === DataType.INT64
          ? { dataType: idsType, dims: [2, 4], data: BigInt64Array.from(ids, BigInt) }
          : { dataType: idsType, dims: [2, 4], data: Int32Array.from(ids) },
      rows: { dataType: DataType.FLOAT, dims: [N_ROWS, D], data: new Float32Array(N_ROWS * D).fill(0.5) },
    });
    await session.release();
    const expected = new Array<number>(N_ROWS * D).fill(0);
    ids.forEach((id, p) => {
      const wrapped = id < 0 ? id + VOCAB + N_ROWS : id;
      if (wrapped < VOCAB) return;
      for (let d = 0; d < D; d++) {
        const at = (wrapped - VOCAB) * D + d;
        expected[at] = (expected[at] ?? 0) + (weights[p * D + d] ?? 0);
      }
    });
    const got = [...(out[gradients.rows ?? '']?.data ?? [])].map(Number);
    expect(got).toHaveLength(expected.length);
    for (const [i, v] of got.entries()) expect(v).toBeCloseTo(expected[i] ?? Number.NaN, 5);
  });
});
