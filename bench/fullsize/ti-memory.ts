// `node bench/fullsize/ti-memory.ts --model <pipeline> [--resolution 256] [--batch 2] [--eval-batch 4]
// [--sessions one|two|gated] [--weights reference|fold] [--parallel] [--arena on|off] [--mem-pattern on|off] [--prepack on|off] [--opt all|extended|basic] [--limit-gb 14]`: builds the textual-inversion
// training graph of a pipeline, opens its onnxruntime session(s), runs one training step and one DVAR evaluation,
// and prints JSON with the time and peak RSS of each phase. A watchdog exits (code 3) above --limit-gb of RSS.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { gateBackward } from '../../trainer-image/src/onnx/gate-backward.ts';
import { DataType } from '../../trainer-image/src/onnx/model.ts';
import { Session, type SessionOptions, type TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import { buildTrainingGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    resolution: { type: 'string', default: '256' },
    batch: { type: 'string', default: '2' },
    'eval-batch': { type: 'string', default: '4' },
    sessions: { type: 'string', default: 'one' },
    prepack: { type: 'string', default: 'off' },
    opt: { type: 'string', default: 'all' },
    weights: { type: 'string', default: 'reference' },
    threads: { type: 'string' },
    parallel: { type: 'boolean', default: false },
    arena: { type: 'string', default: 'on' },
    'mem-pattern': { type: 'string', default: 'on' },
    'limit-gb': { type: 'string', default: '14' },
  },
});
const model = values.model;
if (!model) throw new Error('--model <pipeline dir> is required');
const latent = Number(values.resolution) / 8;
const batch = Number(values.batch);
const evalBatch = Number(values['eval-batch']);
const limit = Number(values['limit-gb']) * 2 ** 30;

/** Peak resident set (VmHWM) in GiB: the kernel's own high-water mark, native allocations included. */
function peakGiB(): number {
  const line = readFileSync('/proc/self/status', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  return Number(line?.match(/\d+/)?.[0] ?? 0) / 2 ** 20;
}
const rssGiB = () => process.memoryUsage.rss() / 2 ** 30;
const watchdog = setInterval(() => {
  if (process.memoryUsage.rss() > limit) {
    process.stdout.write(`${JSON.stringify({ killed: true, rssGiB: rssGiB(), phases })}\n`);
    process.exit(3);
  }
}, 100);
/** Anonymous (heap, arena, folded or packed weights) and file-backed (mmapped external data) resident GiB. */
function rssSplit(): { anonGiB: number; fileGiB: number } {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (key: string) => Number(status.match(new RegExp(`${key}:\\s+(\\d+)`))?.[1] ?? 0);
  return { anonGiB: kb('RssAnon') / 2 ** 20, fileGiB: kb('RssFile') / 2 ** 20 };
}
const phases: Record<
  string,
  { ms: number; rssGiB: number; peakGiB: number; anonGiB: number; fileGiB: number }
> = {};
async function phase<T>(name: string, run: () => Promise<T> | T): Promise<T> {
  const started = performance.now();
  const result = await run();
  phases[name] = {
    ms: Math.round(performance.now() - started),
    rssGiB: rssGiB(),
    peakGiB: peakGiB(),
    ...rssSplit(),
  };
  process.stderr.write(`${name}: ${JSON.stringify(phases[name])}\n`);
  return result;
}

const two = values.sessions === 'two';
const graph = await phase('build', () =>
  buildTrainingGraph(model, {
    batchSize: batch,
    frozenWeights: values.weights === 'fold' ? 'fold' : 'reference',
    ...(two ? { forwardBatchSize: evalBatch } : {}),
  }),
);
const options: SessionOptions = {
  optimization: values.opt === 'basic' || values.opt === 'extended' ? values.opt : 'all',
  configEntries: values.prepack === 'on' ? {} : { 'session.disable_prepacking': '1' },
  ...(values.threads ? { intraOpThreads: Number(values.threads) } : {}),
  ...(values.parallel ? { executionMode: 'parallel', interOpThreads: 1 } : {}),
  ...(values.arena === 'off' ? { cpuArena: false } : {}),
  ...(values['mem-pattern'] === 'off' ? { memoryPattern: false } : {}),
};
const open = async (m: typeof graph.train) => Session.create(sessionSource(m, graph.modelDir), options);
const gated =
  values.sessions === 'gated'
    ? gateBackward(graph.train, { ungated: [graph.loss], gated: [graph.gradient] })
    : undefined;
const train = await phase('session-train', () => open(gated ? gated.model : graph.train));
const flag = (on: boolean): Record<string, TypedTensor> =>
  gated ? { [gated.flag]: { dataType: DataType.BOOL, dims: [], data: new Uint8Array([on ? 1 : 0]) } } : {};
const forward = two ? await phase('session-forward', () => open(graph.forward)) : undefined;

function feeds(b: number): Record<string, TypedTensor> {
  const n = b * 4 * latent * latent;
  const ids = new BigInt64Array(b * 77).fill(49407n);
  for (let i = 0; i < b; i++) {
    ids[i * 77] = 49406n;
    ids[i * 77 + 1] = BigInt(graph.placeholderIds[0] ?? 0);
  }
  const wave = (k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k));
  return {
    [graph.inputs.rows]: {
      dataType: DataType.FLOAT,
      dims: [1, graph.hiddenSize],
      data: new Float32Array(graph.hiddenSize).fill(0.01),
    },
    [graph.inputs.inputIds]: { dataType: graph.inputDataTypes.inputIds, dims: [b, 77], data: ids },
    [graph.inputs.latents]: { dataType: DataType.FLOAT, dims: [b, 4, latent, latent], data: wave(0) },
    [graph.inputs.noise]: { dataType: DataType.FLOAT, dims: [b, 4, latent, latent], data: wave(1) },
    [graph.inputs.timesteps]: {
      dataType: graph.inputDataTypes.timesteps,
      dims: [b],
      data: BigInt64Array.from({ length: b }, (_, i) => BigInt(100 + 200 * i)),
    },
  };
}
const step = await phase('train-step', () =>
  train.run({ ...feeds(batch), ...flag(true) }, [graph.loss, graph.gradient]),
);
// One session: the eval batch runs as evalBatch / batch training-shaped chunks (gradient computed and dropped).
const evaluation = await phase('dvar-eval', async () => {
  if (forward) return forward.run(feeds(evalBatch), [graph.loss]);
  let out = await train.run({ ...feeds(batch), ...flag(false) }, [graph.loss]);
  for (let done = batch; done < evalBatch; done += batch) {
    out = await train.run({ ...feeds(batch), ...flag(false) }, [graph.loss]);
  }
  return out;
});
clearInterval(watchdog);
const weightBytes = ['text_encoder', 'unet']
  .flatMap((c) =>
    graph.forward.graph.initializers.filter((t) => t.name.startsWith(c === 'unet' ? 'unet/' : 'te/')),
  )
  .reduce((s, t) => s + (t.data.kind === 'external' ? (t.data.length ?? 0) : 0), 0);
process.stdout.write(
  `${JSON.stringify({
    model,
    resolution: Number(values.resolution),
    batch,
    evalBatch,
    sessions: values.sessions,
    arena: values.arena,
    memPattern: values['mem-pattern'],
    prepack: values.prepack,
    opt: options.optimization,
    weights: values.weights,
    parallel: values.parallel,
    weightsGiB: weightBytes / 2 ** 30,
    loss: step[graph.loss]?.data[0],
    evalLoss: evaluation[graph.loss]?.data[0],
    buildMs: Math.round(graph.buildMs),
    phases,
  })}\n`,
);
await train.release();
await forward?.release();
