// The token splice at SD 1.5 size (49408 × 768 table, one new row, 77 ids): forward and forward+row-gradient time of
// the old Concat(table, rows) + Gather splice against surgery's Gather/Where lookup, one JSON line each.
// Usage: node bench/gradcheck/token-splice.ts [--runs N] [--vocab N] [--hidden N]
import { buildGradientGraph } from '../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { encodeModel } from '../../trainer-image/src/onnx/codec.ts';
import { GraphBuilder } from '../../trainer-image/src/onnx/graph-builder.ts';
import { DataType, type OnnxModel } from '../../trainer-image/src/onnx/model.ts';
import { spliceEmbeddingRows } from '../../trainer-image/src/onnx/surgery.ts';
import { Session } from '../../trainer-image/src/runtime/session.ts';
import { benchArgs } from './bench-args.ts';

const args = benchArgs(['--runs', '--vocab', '--hidden']);
const runs = args.number('--runs', 20);
const vocab = args.number('--vocab', 49408);
const hidden = args.number('--hidden', 768);

const table = new Float32Array(vocab * hidden);
for (let i = 0; i < table.length; i++) table[i] = Math.sin(i);
const tableBytes = new Uint8Array(table.buffer);

/** ids → embedding → Σ emb² (a loss that reads every gathered value). */
function base(): GraphBuilder {
  const b = new GraphBuilder('te');
  b.input('input_ids', DataType.INT64, [1, 77]);
  b.initializerTensor({
    name: 'table',
    dataType: DataType.FLOAT,
    dims: [vocab, hidden],
    data: { kind: 'raw', bytes: tableBytes },
  });
  return b;
}

function withLoss(b: GraphBuilder, emb: string): OnnxModel {
  b.node('Mul', [emb, emb], ['sq']).node('ReduceSum', ['sq'], ['loss'], {
    keepdims: { type: 'int', value: 0 },
  });
  b.output('loss', DataType.FLOAT, []);
  return b.build(17);
}

function concatSplice(): OnnxModel {
  const b = base();
  b.input('rows', DataType.FLOAT, [1, hidden]);
  b.node('Concat', ['table', 'rows'], ['grown'], { axis: { type: 'int', value: 0 } });
  b.node('Gather', ['grown', 'input_ids'], ['emb'], { axis: { type: 'int', value: 0 } });
  return withLoss(b, 'emb');
}

function lookupSplice(): OnnxModel {
  const b = base();
  b.node('Gather', ['table', 'input_ids'], ['emb'], { axis: { type: 'int', value: 0 } });
  const m = withLoss(b, 'emb');
  const spliced = spliceEmbeddingRows(m.graph, { idsInput: 'input_ids', rowsInput: 'rows', nRows: 1 });
  return { ...m, graph: spliced.graph };
}

const ids = BigInt64Array.from({ length: 77 }, (_, i) => BigInt(i % 5 === 0 ? vocab : (i * 7919) % vocab));
const feeds = {
  input_ids: { dataType: DataType.INT64, dims: [1, 77], data: ids },
  rows: { dataType: DataType.FLOAT, dims: [1, hidden], data: new Float32Array(hidden).fill(0.1) },
};
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1] ?? Number.NaN;

for (const [name, make] of [
  ['concat', concatSplice],
  ['lookup', lookupSplice],
] as const) {
  const forward = make();
  const train = buildGradientGraph(forward, { loss: 'loss', wrt: ['rows'] }).model;
  const sessions = {
    forward: await Session.create(encodeModel(forward), { intraOpThreads: 1 }),
    train: await Session.create(encodeModel(train), { intraOpThreads: 1 }),
  };
  const times: Record<string, number[]> = { forward: [], train: [] };
  for (let i = 0; i <= runs; i++) {
    for (const [key, session] of Object.entries(sessions)) {
      const t0 = performance.now();
      await session.run(feeds);
      if (i > 0) times[key]?.push(performance.now() - t0);
    }
  }
  for (const s of Object.values(sessions)) await s.release();
  process.stdout.write(
    `${JSON.stringify({
      bench: 'token-splice',
      splice: name,
      vocab,
      hidden,
      runs,
      forward_ms: Number(median(times.forward ?? []).toFixed(3)),
      train_ms: Number(median(times.train ?? []).toFixed(3)),
    })}\n`,
  );
}
