// Benchmark for session start-up (issue 3, target 2): onnxruntime session-create time of the textual-inversion
// training graph under several session-option variants, with the step time each gives, as one JSON line each.
// `--batch N` builds the graph for a fixed batch (TrainingGraphOptions.batchSize) instead of the symbolic one.
// Usage: node bench/gradcheck/session-create.ts [--runs N] [--threads N] [--batch N] [--fixtures DIR] [fixture] [variant ...]
import { join } from 'node:path';
import { Session, type SessionOptions } from '../../trainer-image/src/runtime/session.ts';
import { buildTrainingGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';
import { benchArgs } from './bench-args.ts';
import { goldenFeeds } from './golden-feeds.ts';

const VARIANTS: Readonly<Record<string, SessionOptions>> = {
  default: {},
  parallel: { executionMode: 'parallel', interOpThreads: 1 },
  'parallel-2': { executionMode: 'parallel', interOpThreads: 2 },
  'no-mem-pattern': { memoryPattern: false },
  'no-mem-pattern-no-arena': { memoryPattern: false, cpuArena: false },
  'no-prepacking': { configEntries: { 'session.disable_prepacking': '1' } },
  basic: { optimization: 'basic' },
  extended: { optimization: 'extended' },
  'basic-no-mem-pattern': { optimization: 'basic', memoryPattern: false },
};

const args = benchArgs(['--runs', '--threads', '--batch']);
const runs = args.number('--runs', 3);
const threads = args.number('--threads', 1);
const fixtures = args.fixtures;
const batchSize = args.optionalNumber('--batch');
const names = args.names;
const fixture = names[0] ?? 'tiny-sd15topo';
const variants = names.length > 1 ? names.slice(1) : Object.keys(VARIANTS);

const dir = join(fixtures, fixture);
const graph = buildTrainingGraph(dir, {
  wrt: 'placeholder',
  ...(batchSize === undefined ? {} : { batchSize }),
});
const feeds = goldenFeeds(dir, graph);
const source = sessionSource(graph.train, graph.modelDir);

let reference: Float32Array | undefined;
for (const variant of variants) {
  const options = VARIANTS[variant];
  if (!options) throw new Error(`unknown variant '${variant}' (known: ${Object.keys(VARIANTS).join(', ')})`);
  const t0 = performance.now();
  const session = await Session.create(source, { ...options, intraOpThreads: threads });
  const createMs = performance.now() - t0;
  const first = await session.run(feeds);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t1 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t1);
  }
  await session.release();
  const grad = first[graph.gradient]?.data;
  if (!(grad instanceof Float32Array)) throw new Error('bench: no float gradient output');
  reference ??= grad;
  let maxDiff = 0;
  for (let i = 0; i < grad.length; i++)
    maxDiff = Math.max(maxDiff, Math.abs((grad[i] ?? 0) - (reference[i] ?? 0)));
  times.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      bench: 'session-create',
      fixture,
      variant,
      batch: batchSize ?? 'symbolic',
      threads,
      grad_graph_nodes: graph.train.graph.nodes.length,
      create_ms: Math.round(createMs),
      step_ms: Number((times[Math.floor(times.length / 2)] ?? -1).toFixed(1)),
      max_abs_grad_diff_vs_first: maxDiff,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
}
