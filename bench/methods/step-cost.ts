// What a method costs per step beside textual inversion (issue 12 item 7): TI's and DreamBooth-LoRA's training
// steps and loss-only forwards on one fixture, timed in turns at one thread so load swings hit all four alike,
// plus what each graph holds: nodes, initializer bytes (LoRA must add no copy of any base weight) and the
// trainable count. Prints one JSON line per fixture. Usage:
// node bench/methods/step-cost.ts [--runs N] [--threads N] [--rank R] [--targets paper|attention] [fixture ...]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FIXTURES_DIR } from '../../test/support/fixtures.ts';
import { DataType, type OnnxModel } from '../../trainer-image/src/onnx/model.ts';
import { Session, type TypedTensor } from '../../trainer-image/src/runtime/session.ts';
import { dreamboothLora } from '../../trainer-image/src/train/methods/dreambooth-lora.ts';
import { buildTrainingGraph, sessionSource } from '../../trainer-image/src/train/training-graph.ts';
import { goldenBatch, goldenFeeds } from '../gradcheck/golden-feeds.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    runs: { type: 'string', default: '15' },
    threads: { type: 'string', default: '1' },
    rank: { type: 'string', default: '4' },
    targets: { type: 'string', default: 'paper' },
  },
});
const runs = Number(values.runs);
const threads = Number(values.threads);
const rank = Number(values.rank);
const targets = values.targets === 'attention' ? 'attention' : 'paper';
const names = positionals.length > 0 ? positionals : ['tiny-sd15topo'];
const median = (xs: readonly number[]) =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** Bytes of every initializer a graph holds inline or references (a second copy of a weight would show here). */
function initializerBytes(model: OnnxModel): number {
  return model.graph.initializers.reduce((sum, t) => {
    const count = t.dims.reduce((a, b) => a * b, 1);
    const size = t.dataType === DataType.DOUBLE || t.dataType === DataType.INT64 ? 8 : 4;
    return sum + count * size;
  }, 0);
}

for (const name of names) {
  const dir = join(FIXTURES_DIR, name);
  const batch = goldenBatch(dir);
  const fixed = { batchSize: batch, forwardBatchSize: batch };
  const ti = buildTrainingGraph(dir, fixed);
  const method = dreamboothLora({ rank, alpha: rank, targets });
  const lora = buildTrainingGraph(dir, {
    ...fixed,
    ...(method.unetSurgery ? { unetSurgery: method.unetSurgery } : {}),
  });
  const tiFeeds = goldenFeeds(dir, ti);
  const loraFeeds: Record<string, TypedTensor> = { ...goldenFeeds(dir, lora) };
  let loraParams = 0;
  for (const t of lora.methodTrainables) {
    const size = t.dims.reduce((a, b) => a * b, 1);
    loraParams += size;
    loraFeeds[t.name] = { dataType: DataType.FLOAT, dims: t.dims, data: new Float32Array(size).fill(0.01) };
  }
  const options = { intraOpThreads: threads };
  const open = (m: OnnxModel) => Session.create(sessionSource(m, dir), options);
  const sessions = {
    tiTrain: [await open(ti.train), tiFeeds],
    tiForward: [await open(ti.forward), tiFeeds],
    loraTrain: [await open(lora.train), loraFeeds],
    loraForward: [await open(lora.forward), loraFeeds],
  } as const;
  const times: Record<keyof typeof sessions, number[]> = {
    tiTrain: [],
    tiForward: [],
    loraTrain: [],
    loraForward: [],
  };
  for (let i = 0; i <= runs; i++) {
    for (const [key, [session, feeds]] of Object.entries(sessions) as [
      keyof typeof sessions,
      readonly [Session, Record<string, TypedTensor>],
    ][]) {
      const start = performance.now();
      await session.run(feeds);
      if (i > 0) times[key].push(performance.now() - start);
    }
  }
  for (const [session] of Object.values(sessions)) await session.release();
  const ms = Object.fromEntries(
    Object.entries(times).map(([k, v]) => [k, Number(median(v).toFixed(2))]),
  ) as Record<keyof typeof sessions, number>;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'methods-step-cost',
      fixture: name,
      runs,
      threads,
      lora: { rank, targets, modules: lora.methodTrainables.length / 2, parameters: loraParams },
      ms,
      lora_train_over_ti_train: Number((ms.loraTrain / ms.tiTrain).toFixed(3)),
      lora_forward_over_ti_forward: Number((ms.loraForward / ms.tiForward).toFixed(3)),
      lora_train_over_lora_forward: Number((ms.loraTrain / ms.loraForward).toFixed(3)),
      ti_train_over_ti_forward: Number((ms.tiTrain / ms.tiForward).toFixed(3)),
      nodes: {
        ti_train: ti.train.graph.nodes.length,
        lora_train: lora.train.graph.nodes.length,
        ti_forward: ti.forward.graph.nodes.length,
        lora_forward: lora.forward.graph.nodes.length,
      },
      initializer_bytes: { ti_train: initializerBytes(ti.train), lora_train: initializerBytes(lora.train) },
      build_ms: { ti: Math.round(ti.buildMs), lora: Math.round(lora.buildMs) },
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
}
