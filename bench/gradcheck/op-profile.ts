// Where a training step's time goes (issue 3, ratio target): onnxruntime's own profiler on the training and the
// loss-only sessions of one fixture, kernel time summed per op type and per side (forward nodes vs the `grad/…`
// nodes the autodiff emitted), per rule, attention (node names with 'attn') vs the rest, plus the heaviest single
// nodes. Means over the profiled runs in ms per run; the two sessions run alternately. The profiler adds a few µs
// to every node, so small ops look dearer than they are (their wall time is ~1–2 µs each).
// Usage: node bench/gradcheck/op-profile.ts [--runs N] [--threads N] [--top N] [--fixtures DIR] [fixture]
// Talks to onnxruntime-node directly (the Session wrapper has no profiling switch); bench code only.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import { buildTrainingGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';
import { benchArgs } from './bench-args.ts';
import { goldenFeeds } from './golden-feeds.ts';

const args = benchArgs(['--runs', '--threads', '--top']);
const runs = args.number('--runs', 5);
const threads = args.number('--threads', 1);
const top = args.number('--top', 25, 0);
const fixtures = args.fixtures;
const name = args.names[0] ?? 'tiny-sd15topo';

const ORT_TYPES: Readonly<Record<number, ort.Tensor.Type>> = { 1: 'float32', 6: 'int32', 7: 'int64' };

function toOrt(feeds: Record<string, TypedTensor>): Record<string, ort.Tensor> {
  const out: Record<string, ort.Tensor> = {};
  for (const [k, t] of Object.entries(feeds)) {
    const type = ORT_TYPES[t.dataType];
    if (!type) throw new Error(`feed ${k}: unsupported type ${t.dataType}`);
    out[k] = new ort.Tensor(type, t.data, [...t.dims]);
  }
  return out;
}

interface ProfileEvent {
  readonly cat?: string;
  readonly name?: string;
  readonly dur?: number;
  readonly args?: { readonly op_name?: string };
}

interface Summary {
  readonly totalMs: number;
  readonly byOp: Map<string, number>;
  readonly bySide: Map<string, number>;
  /** Per op type, split by side ('forward' or 'backward'). */
  readonly bySideOp: Map<string, Map<string, number>>;
  readonly byNode: Map<string, { op: string; ms: number }>;
}

async function openProfiled(model: Uint8Array | string, tag: string) {
  const prefix = join('/tmp', `plateau-op-profile-${process.pid}-${tag}`);
  const options: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    intraOpNumThreads: threads,
    executionProviders: ['cpu'],
    enableProfiling: true,
    profileFilePrefix: prefix,
  };
  const session =
    typeof model === 'string'
      ? await ort.InferenceSession.create(model, options)
      : await ort.InferenceSession.create(model, options);
  return { session, prefix };
}

/** Ends profiling and returns the file onnxruntime wrote (it appends a timestamp and '.json' to the prefix). */
async function closeProfiled(opened: { session: ort.InferenceSession; prefix: string }): Promise<string> {
  opened.session.endProfiling();
  await opened.session.release();
  const { prefix } = opened;
  const file = readdirSync(dirname(prefix)).find((f) => f.startsWith(basename(prefix)));
  if (!file) throw new Error(`no profile written under ${prefix}*`);
  return join(dirname(prefix), file);
}

function summarize(file: string): Summary {
  const events = JSON.parse(readFileSync(file, 'utf8')) as ProfileEvent[];
  const runsSeen = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
  const warm = runsSeen[0];
  const n = Math.max(1, runsSeen.length - 1);
  const byOp = new Map<string, number>();
  const bySide = new Map<string, number>();
  const byNode = new Map<string, { op: string; ms: number }>();
  const bySideOp = new Map<string, Map<string, number>>();
  let total = 0;
  const perNodeCount = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || e.dur === undefined) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    // The first occurrence of each node belongs to the warm-up run.
    const seen = perNodeCount.get(node) ?? 0;
    perNodeCount.set(node, seen + 1);
    if (warm !== undefined && seen === 0) {
      continue;
    }
    const ms = e.dur / 1000 / n;
    const op = e.args?.op_name ?? '?';
    total += ms;
    byOp.set(op, (byOp.get(op) ?? 0) + ms);
    const side = node.startsWith('grad/') ? 'backward' : 'forward';
    bySide.set(side, (bySide.get(side) ?? 0) + ms);
    const part = `${side} ${node.includes('attn') ? 'attention' : 'other'}`;
    bySide.set(part, (bySide.get(part) ?? 0) + ms);
    const sideOps = bySideOp.get(side) ?? new Map<string, number>();
    sideOps.set(op, (sideOps.get(op) ?? 0) + ms);
    bySideOp.set(side, sideOps);
    const prev = byNode.get(node);
    byNode.set(node, { op, ms: (prev?.ms ?? 0) + ms });
  }
  return { totalMs: total, byOp, bySide, bySideOp, byNode };
}

const round = (v: number): number => Number(v.toFixed(3));
const sorted = (m: Map<string, number>): [string, number][] => [...m].sort((a, b) => b[1] - a[1]);

const dir = join(fixtures, name);
/** Backward kernel time per rule: the op type of the forward node a `grad/<node>/…` name belongs to. */
function byRule(byNode: Map<string, { op: string; ms: number }>): Map<string, number> {
  const forwardOps = new Map(graph.forward.graph.nodes.map((n) => [n.name, n.opType]));
  const out = new Map<string, number>();
  for (const [node, { ms }] of byNode) {
    if (!node.startsWith('grad/')) continue;
    let owner = '(builder)';
    let cut = node.length;
    while (cut > 5) {
      cut = node.lastIndexOf('/', cut - 1);
      if (cut <= 5) break;
      const op = forwardOps.get(node.slice(5, cut));
      if (op !== undefined) {
        owner = op;
        break;
      }
    }
    out.set(owner, (out.get(owner) ?? 0) + ms);
  }
  return out;
}
const graph = buildTrainingGraph(dir);
const feeds = toOrt(goldenFeeds(dir, graph));
const count = (nodes: readonly { opType: string }[]) => {
  const m = new Map<string, number>();
  for (const n of nodes) m.set(n.opType, (m.get(n.opType) ?? 0) + 1);
  return m;
};
const trainNodes = count(graph.train.graph.nodes);
const forwardNodes = count(graph.forward.graph.nodes);
// Both sessions run alternately (warm-up first, dropped in summarize), so load swings on a shared machine hit both.
const opened = {
  train: await openProfiled(sessionSource(graph.train, graph.modelDir), 'train'),
  forward: await openProfiled(sessionSource(graph.forward, graph.modelDir), 'forward'),
};
for (let i = 0; i <= runs; i++) {
  await opened.train.session.run(feeds);
  await opened.forward.session.run(feeds);
}
for (const tag of ['train', 'forward'] as const) {
  const file = await closeProfiled(opened[tag]);
  const s = summarize(file);
  rmSync(file, { force: true });
  process.stdout.write(
    `${JSON.stringify({
      session: tag,
      fixture: name,
      kernel_ms: round(s.totalMs),
      by_side: Object.fromEntries(sorted(s.bySide).map(([k, v]) => [k, round(v)])),
      by_op: Object.fromEntries(
        [...s.bySideOp].map(([side, ops]) => [
          side,
          Object.fromEntries(
            sorted(ops)
              .slice(0, top)
              .map(([k, v]) => [k, round(v)]),
          ),
        ]),
      ),
      backward_by_rule: Object.fromEntries(
        sorted(byRule(s.byNode))
          .slice(0, top)
          .map(([k, v]) => [k, round(v)]),
      ),
      top_nodes: [...s.byNode]
        .sort((a, b) => b[1].ms - a[1].ms)
        .slice(0, top)
        .map(([k, v]) => `${v.op} ${k} ${round(v.ms)}`),
    })}\n`,
  );
}
process.stdout.write(
  `${JSON.stringify({
    graph_nodes: { train: graph.train.graph.nodes.length, forward: graph.forward.graph.nodes.length },
    train_ops: Object.fromEntries(sorted(trainNodes).slice(0, top)),
    forward_ops: Object.fromEntries(sorted(forwardNodes).slice(0, top)),
  })}\n`,
);
