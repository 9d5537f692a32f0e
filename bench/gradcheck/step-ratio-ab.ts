// Before/after for the train step / forward ratio (issue 3) in one process: the training and loss-only graphs of a
// baseline tree (another checkout's trainer-image/, e.g. `git archive <commit> trainer-image shared | tar -x -C DIR`
// plus a node_modules link) and of this tree, all four sessions run alternately so load swings on a shared machine
// hit both alike. One JSON line per fixture: medians and minimums, both ratios, train_after / train_before.
// Usage: node bench/gradcheck/step-ratio-ab.ts --base DIR [--runs N] [--threads N] [--fixtures DIR] [fixture ...]
import { join, resolve } from 'node:path';
import { Session } from '../../trainer-image/src/runtime/session.ts';
import * as after from '../../trainer-image/src/train/training-graph.ts';
import { benchArgs } from './bench-args.ts';
import { goldenFeeds } from './golden-feeds.ts';

const args = benchArgs(['--base', '--runs', '--threads']);
const baseDir = args.value('--base');
if (!baseDir) throw new Error('--base DIR (a tree holding the baseline trainer-image/) is required');
const runs = args.number('--runs', 20);
const threads = args.number('--threads', 1);
const fixtures = args.fixtures;
const names = args.names;
const selected = names.length > 0 ? names : ['tiny-sd15topo'];

const before = (await import(resolve(baseDir, 'trainer-image/src/train/training-graph.ts'))) as typeof after;

const median = (v: readonly number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1] ?? Number.NaN;
const round = (v: number): number => Number(v.toFixed(2));

for (const name of selected) {
  const dir = join(fixtures, name);
  const graphs = {
    before: before.buildTrainingGraph(dir),
    after: after.buildTrainingGraph(dir),
  };
  const feeds = goldenFeeds(dir, graphs.after);
  const options = { intraOpThreads: threads };
  const open = (lib: typeof after, graph: typeof graphs.after, which: 'train' | 'forward') =>
    Session.create(lib.sessionSource(graph[which], graph.modelDir), options);
  const sessions = {
    train_before: await open(before, graphs.before, 'train'),
    train_after: await open(after, graphs.after, 'train'),
    forward_before: await open(before, graphs.before, 'forward'),
    forward_after: await open(after, graphs.after, 'forward'),
  };
  const times: Record<keyof typeof sessions, number[]> = {
    train_before: [],
    train_after: [],
    forward_before: [],
    forward_after: [],
  };
  for (let i = 0; i <= runs; i++) {
    for (const key of Object.keys(sessions) as (keyof typeof sessions)[]) {
      const start = performance.now();
      await sessions[key].run(feeds);
      if (i > 0) times[key].push(performance.now() - start);
    }
  }
  for (const s of Object.values(sessions)) await s.release();
  const med = {
    train_before: median(times.train_before),
    train_after: median(times.train_after),
    forward_before: median(times.forward_before),
    forward_after: median(times.forward_after),
  };
  const min = {
    train_before: Math.min(...times.train_before),
    train_after: Math.min(...times.train_after),
    forward_before: Math.min(...times.forward_before),
    forward_after: Math.min(...times.forward_after),
  };
  process.stdout.write(
    `${JSON.stringify({
      bench: 'step-ratio-ab',
      fixture: name,
      runs,
      threads,
      median_ms: Object.fromEntries(Object.entries(med).map(([k, v]) => [k, round(v)])),
      min_ms: Object.fromEntries(Object.entries(min).map(([k, v]) => [k, round(v)])),
      ratio_before: Number((med.train_before / med.forward_before).toFixed(3)),
      ratio_after: Number((med.train_after / med.forward_after).toFixed(3)),
      train_after_over_before: Number((med.train_after / med.train_before).toFixed(3)),
      grad_graph_nodes: {
        before: graphs.before.train.graph.nodes.length,
        after: graphs.after.train.graph.nodes.length,
      },
    })}\n`,
  );
}
