/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Surgery on a small text-encoder-like graph, run in onnxruntime: new token ids select the spliced rows (negative
// ids counting from the end of the grown table, as Gather's do) without a grown copy of the table, names are
// prefixed with a mapping for the interface tensors, and pruning drops what the outputs do not need.
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../../trainer-image/src/onnx/graph-builder.ts';
import { DataType } from '../../../trainer-image/src/onnx/model.ts';
import {
  findTokenEmbedding,
  mergeGraphs,
  prefixGraph,
  pruneGraph,
  spliceEmbeddingRows,
} from '../../../trainer-image/src/onnx/surgery.ts';
import { Session } from '../../../trainer-image/src/runtime/session.ts';

function encoder() {
  return new GraphBuilder()
    .input('input_ids', DataType.INT64, ['batch', 3])
    .initializer('table', { dataType: DataType.FLOAT, dims: [4, 2], values: [0, 0, 1, 1, 2, 2, 3, 3] })
    .initializer('flat', { dataType: DataType.INT64, dims: [1], values: [-1n] })
    .node('Reshape', ['input_ids', 'flat'], ['ids_flat'])
    .node('Gather', ['table', 'ids_flat'], ['emb'], { axis: { type: 'int', value: 0 } })
    .node('Neg', ['emb'], ['dead'])
    .output('emb', DataType.FLOAT, [undefined, 2])
    .build(17).graph;
}

describe('surgery', () => {
  it('splices trainable rows into the token table', async () => {
    expect(findTokenEmbedding(encoder(), 'input_ids').table.name).toBe('table');
    const spliced = spliceEmbeddingRows(encoder(), { idsInput: 'input_ids', rowsInput: 'rows', nRows: 2 });
    expect(spliced).toMatchObject({ vocabSize: 4, hiddenSize: 2 });
    const graph = prefixGraph(pruneGraph(spliced.graph), 'te/', {
      input_ids: 'input_ids',
      rows: 'rows',
      emb: 'emb',
    });
    expect(graph.nodes.some((n) => n.opType === 'Neg')).toBe(false);
    expect(graph.initializers.map((t) => t.name).sort()).toEqual([
      'te/flat',
      'te/table',
      'te/table/splice/is_table',
      'te/table/splice/row_index',
      'te/table/splice/table_index',
    ]);
    // No Concat: the table is only read at the ids' rows, never copied into a grown table.
    expect(graph.nodes.some((n) => n.opType === 'Concat')).toBe(false);
    const merged = mergeGraphs('m', [graph], graph.outputs);
    const session = await Session.create(encodeModel({ ...new GraphBuilder().build(17), graph: merged }));
    const out = await session.run({
      input_ids: {
        dataType: DataType.INT64,
        dims: [2, 3],
        data: new BigInt64Array([1n, 4n, 5n, -1n, -6n, 0n]),
      },
      rows: { dataType: DataType.FLOAT, dims: [2, 2], data: new Float32Array([7, 8, 9, 10]) },
    });
    expect([...(out.emb?.data ?? [])]).toEqual([1, 1, 7, 8, 9, 10, 9, 10, 0, 0, 0, 0]);
    await session.release();
  });
});
