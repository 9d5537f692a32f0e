// Benchmark for session start-up (issue 3, target 2): onnxruntime session-create time of the textual-inversion
// training graph under several session-option variants, with the step time each gives, as one JSON line each.
// `--batch N` builds the graph for a fixed batch (TextualInversionGraphOptions.batchSize) instead of the symbolic one.
// Usage: node bench/gradcheck/session-create.ts [--runs N] [--threads N] [--batch N] [--fixtures DIR] [fixture] [variant ...]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, toBigInt64, toFloat32 } from '../../shared/safetensors.ts';
import { DataType } from '../../trainer-image/src/onnx/model.ts';
import { Session, type SessionOptions, type TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import { buildTextualInversionGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';

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

const args = process.argv.slice(2);
const flagValue = (flag: string): string | undefined => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
};
const runs = Number(flagValue('--runs') ?? 3);
const threads = Number(flagValue('--threads') ?? 1);
const fixtures = flagValue('--fixtures') ?? join(process.cwd(), '..', 'shared', 'fixtures');
const batchFlag = flagValue('--batch');
const batchSize = batchFlag === undefined ? undefined : Number(batchFlag);
const flagValues = new Set(['--runs', '--threads', '--fixtures', '--batch'].map((f) => flagValue(f)));
const names = args.filter((a) => !a.startsWith('--') && !flagValues.has(a));
const fixture = names[0] ?? 'tiny-sd15topo';
const variants = names.length > 1 ? names.slice(1) : Object.keys(VARIANTS);

const dir = join(fixtures, fixture);
const golden = readSafetensors(readFileSync(join(dir, 'golden.safetensors')));
const get = (key: string) => {
  const t = golden.tensors.get(key);
  if (!t) throw new Error(`golden.safetensors has no '${key}'`);
  return t;
};
const graph = buildTextualInversionGraph(dir, {
  wrt: 'placeholder',
  ...(batchSize === undefined ? {} : { batchSize }),
});
const floatFeed = (key: string, dataType: number): TypedTensor => {
  const t = get(key);
  const values = toFloat32(t);
  if (dataType === DataType.FLOAT) return { dataType, dims: t.shape, data: values };
  throw new Error(`bench: unsupported ${key} type ${dataType}`);
};
const intFeed = (key: string, dataType: number): TypedTensor => {
  const t = get(key);
  const values = toBigInt64(t);
  if (dataType === DataType.INT64) return { dataType, dims: t.shape, data: values };
  if (dataType === DataType.INT32) return { dataType, dims: t.shape, data: Int32Array.from(values, Number) };
  if (dataType === DataType.FLOAT)
    return { dataType, dims: t.shape, data: Float32Array.from(values, Number) };
  throw new Error(`bench: unsupported ${key} type ${dataType}`);
};
const row = toFloat32(get('ti.initializer_row'));
const feeds: Record<string, TypedTensor> = {
  [graph.inputs.rows]: { dataType: DataType.FLOAT, dims: [1, row.length], data: row },
  [graph.inputs.inputIds]: intFeed('ti.input_ids', graph.inputDataTypes.inputIds),
  [graph.inputs.latents]: floatFeed('ti.latents', graph.inputDataTypes.latents),
  [graph.inputs.noise]: floatFeed('ti.noise', graph.inputDataTypes.noise),
  [graph.inputs.timesteps]: intFeed('ti.timesteps', graph.inputDataTypes.timesteps),
};
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
