// Where the train step / forward ratio (issue 3) comes from: the training graph's forward half is timed on its own
// with every forward tensor the gradient nodes read kept alive to the end of the run (as training must keep them),
// next to the loss-only graph and the full training step, all three sessions run alternately. train − kept is then
// what the gradient nodes themselves cost; kept − forward is the price of holding the saved activations.
// Usage: node bench/gradcheck/saved-cost.ts [--runs N] [--threads N] [--fixtures DIR] [fixture]
import { join } from 'node:path';
import {
  DataType,
  defaultOpset,
  elementSize,
  type OnnxModel,
  type OnnxNode,
} from '../../trainer-image/src/onnx/model.ts';
import { inferShapes } from '../../trainer-image/src/onnx/shape-inference.ts';
import { Session, type TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import { buildTrainingGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';
import { benchArgs } from './bench-args.ts';
import { goldenFeeds } from './golden-feeds.ts';

const args = benchArgs(['--runs', '--threads']);
const runs = args.number('--runs', 20);
const threads = args.number('--threads', 1);
const fixtures = args.fixtures;
const name = args.names[0] ?? 'tiny-sd15topo';

const isGrad = (n: OnnxNode): boolean => n.name.startsWith('grad/');

/** Forward tensors (node outputs) that some gradient node reads. */
function savedTensors(train: OnnxModel): string[] {
  const forwardOutputs = new Set(train.graph.nodes.filter((n) => !isGrad(n)).flatMap((n) => n.outputs));
  const read = new Set<string>();
  for (const n of train.graph.nodes.filter(isGrad)) {
    for (const i of n.inputs) if (forwardOutputs.has(i)) read.add(i);
  }
  return [...read].sort();
}

const int64 = (name: string, values: readonly number[]) => ({
  name,
  dataType: DataType.INT64,
  dims: [values.length],
  data: { kind: 'raw' as const, bytes: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) },
});

/**
 * The training graph's forward nodes plus, per saved tensor, a one-element read that runs after the loss (its
 * start index is 0·loss), so onnxruntime holds every saved tensor to the end as the training step does. A second
 * output sums those elements so nothing is pruned.
 */
function keptForward(train: OnnxModel, saved: readonly string[]): OnnxModel {
  const node = (
    opType: string,
    inputs: string[],
    output: string,
    attributes: OnnxNode['attributes'] = {},
  ) => ({
    name: `keep/${output}`,
    opType,
    domain: '',
    inputs,
    outputs: [output],
    attributes,
  });
  const int = (value: number) => ({ type: 'int' as const, value });
  const nodes: OnnxNode[] = [
    ...train.graph.nodes.filter((n) => !isGrad(n)),
    node('Mul', ['loss', 'keep/zero'], 'keep/z0'),
    node('Cast', ['keep/z0'], 'keep/z1', { to: int(DataType.INT64) }),
    node('Reshape', ['keep/z1', 'keep/one'], 'keep/start'),
    node('Add', ['keep/start', 'keep/one'], 'keep/end'),
  ];
  const picks = saved.map((t, i) => {
    nodes.push(node('Reshape', [t, 'keep/flat'], `keep/f${i}`));
    nodes.push(node('Slice', [`keep/f${i}`, 'keep/start', 'keep/end'], `keep/s${i}`));
    nodes.push(node('Cast', [`keep/s${i}`], `keep/c${i}`, { to: int(DataType.FLOAT) }));
    return `keep/c${i}`;
  });
  nodes.push(node('Concat', picks, 'keep/all', { axis: int(0) }));
  nodes.push(node('ReduceSum', ['keep/all'], 'keep/sum', { keepdims: int(0) }));
  return {
    ...train,
    graph: {
      ...train.graph,
      nodes,
      initializers: [
        ...train.graph.initializers,
        {
          name: 'keep/zero',
          dataType: DataType.FLOAT,
          dims: [],
          data: { kind: 'raw', bytes: new Uint8Array(new Float32Array([0]).buffer) },
        },
        int64('keep/one', [1]),
        int64('keep/flat', [-1]),
      ],
      outputs: [
        ...train.graph.outputs.filter((o) => o.name === 'loss'),
        { name: 'keep/sum', dataType: DataType.FLOAT, dims: [] },
      ],
    },
  };
}

const dir = join(fixtures, name);
const graph = buildTrainingGraph(dir, {});
const feeds = goldenFeeds(dir, graph);
const saved = savedTensors(graph.train);
const kept = keptForward(graph.train, saved);
const options = { intraOpThreads: threads };

// The saved tensors' sizes at these feeds: one run with them as outputs (not timed).
const types = inferShapes(kept.graph, defaultOpset(kept));
const probeModel: OnnxModel = {
  ...kept,
  graph: {
    ...kept.graph,
    outputs: [
      ...kept.graph.outputs,
      ...saved.map((t) => ({ name: t, dataType: types.get(t)?.dataType ?? DataType.FLOAT, dims: undefined })),
    ],
  },
};
const probe = await Session.create(sessionSource(probeModel, graph.modelDir), options);
const probeOut: Record<string, TypedTensor> = await probe.run(feeds, saved);
const savedBytes = Object.values(probeOut).reduce((s, t) => s + t.data.length * elementSize(t.dataType), 0);
await probe.release();

const sessions = {
  train: await Session.create(sessionSource(graph.train, graph.modelDir), options),
  kept: await Session.create(sessionSource(kept, graph.modelDir), options),
  forward: await Session.create(sessionSource(graph.forward, graph.modelDir), options),
};
const times: Record<keyof typeof sessions, number[]> = { train: [], kept: [], forward: [] };
for (let i = 0; i <= runs; i++) {
  for (const key of ['train', 'kept', 'forward'] as const) {
    const start = performance.now();
    await sessions[key].run(feeds);
    if (i > 0) times[key].push(performance.now() - start);
  }
}
for (const s of Object.values(sessions)) await s.release();
const median = (v: readonly number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1] ?? Number.NaN;
const train = median(times.train);
const keptMs = median(times.kept);
const forward = median(times.forward);
const round = (v: number, d = 2): number => Number(v.toFixed(d));
process.stdout.write(
  `${JSON.stringify({
    bench: 'saved-cost',
    fixture: name,
    runs,
    threads,
    saved_tensors: saved.length,
    saved_mb: round(savedBytes / 2 ** 20, 1),
    forward_ms: round(forward),
    forward_keeping_saved_ms: round(keptMs),
    train_step_ms: round(train),
    train_forward_ratio: round(train / forward, 3),
    keeping_saved_over_forward: round(keptMs / forward, 3),
    gradient_nodes_over_forward: round((train - keptMs) / forward, 3),
  })}\n`,
);
