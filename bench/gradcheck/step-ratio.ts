// Train step / forward ratio (issue 3, target ≤ 2.5) measured robustly on a shared machine: the training and
// loss-only sessions run alternately, so load swings hit both alike (run.ts times one graph after the other).
// Usage: node bench/gradcheck/step-ratio.ts [--runs N] [--threads N] [--static] [--fixtures DIR] [fixture ...]
// `--static` builds both graphs for the golden batch (TrainingGraphOptions.batchSize / forwardBatchSize).
import { join } from 'node:path';
import { Session } from '../../trainer-image/src/runtime/session.ts';
import { buildTrainingGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';
import { benchArgs } from './bench-args.ts';
import { goldenBatch, goldenFeeds } from './golden-feeds.ts';

const args = benchArgs(['--runs', '--threads']);
const runs = args.number('--runs', 20);
const threads = args.number('--threads', 1);
const fixed = args.has('--static');
const fixtures = args.fixtures;
const names = args.names;
const selected = names.length > 0 ? names : ['tiny-sd', 'tiny-sd-dynamo', 'tiny-sd15topo'];

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

for (const name of selected) {
  const dir = join(fixtures, name);
  const batch = goldenBatch(dir);
  const graph = buildTrainingGraph(dir, fixed ? { batchSize: batch, forwardBatchSize: batch } : {});
  const feeds = goldenFeeds(dir, graph);
  const options = { intraOpThreads: threads };
  const t0 = performance.now();
  const train = await Session.create(sessionSource(graph.train, graph.modelDir), options);
  const createMs = performance.now() - t0;
  const forward = await Session.create(sessionSource(graph.forward, graph.modelDir), options);
  const times = { train: [] as number[], forward: [] as number[] };
  for (let i = 0; i <= runs; i++) {
    for (const [key, session] of [
      ['train', train],
      ['forward', forward],
    ] as const) {
      const start = performance.now();
      await session.run(feeds);
      if (i > 0) times[key].push(performance.now() - start);
    }
  }
  await train.release();
  await forward.release();
  const trainMs = median(times.train);
  const forwardMs = median(times.forward);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'step-ratio',
      fixture: name,
      batch: fixed ? batch : 'symbolic',
      runs,
      threads,
      train_session_create_ms: Math.round(createMs),
      train_step_ms: Number(trainMs.toFixed(2)),
      forward_ms: Number(forwardMs.toFixed(2)),
      train_forward_ratio: Number((trainMs / forwardMs).toFixed(3)),
      ratio_target: 2.5,
      grad_graph_nodes: graph.train.graph.nodes.length,
    })}\n`,
  );
}
