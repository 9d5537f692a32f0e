// Trainer throughput on CPU: steps/s of what `plateau train` runs (runPersonalization + loadOnnxModel) on
// the fixtures, the DVAR evaluation's share of the step, and peak RSS. Prints one JSON document on stdout.
// Usage: node bench/trainer/run.ts [--quick] [--steps N] [--threads N] [--fixtures DIR] [fixture ...]
import { join } from 'node:path';
import type { ArtifactStore, LossSample } from '../../shared/ports.ts';
import { FIXTURES_DIR } from '../../test/support/fixtures.ts';
import type { PixelImage } from '../../trainer-image/src/train/batches.ts';
import { modelResolution } from '../../trainer-image/src/train/model-resolution.ts';
import { loadOnnxModel } from '../../trainer-image/src/train/onnx-model.ts';
import { runPersonalization, TI_DEFAULTS } from '../../trainer-image/src/train/personalize.ts';
import { buildTrainingGraph } from '../../trainer-image/src/train/training-graph.ts';

const args = process.argv.slice(2);
const flagValue = (flag: string): string | undefined => {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
};
const quick = args.includes('--quick');
const steps = Number(flagValue('--steps') ?? (quick ? 8 : 40));
const threads = Number(flagValue('--threads') ?? 1);
const fixtures = flagValue('--fixtures') ?? FIXTURES_DIR;
const valued = new Set(
  ['--steps', '--threads', '--fixtures'].map((f) => args.indexOf(f) + 1).filter((i) => i > 0),
);
const names = args.filter((a, i) => !a.startsWith('--') && !valued.has(i));
const selected = names.length > 0 ? names : ['tiny-sd', 'tiny-sd15topo'];
const BATCH = 2;
const EVAL_BATCH = 4;

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const round = (value: number, digits = 3): number => Number(value.toFixed(digits));

/** Smooth seeded test images in [-1, 1] (the fixtures' weights are random, so content does not matter). */
function syntheticImages(count: number, size: number): PixelImage[] {
  return Array.from({ length: count }, (_, k) => {
    const data = new Float32Array(3 * size * size);
    for (let c = 0; c < 3; c++)
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++)
          data[(c * size + y) * size + x] =
            Math.sin((x + 1) * (k + 1) * 0.1 + c) * Math.cos(y * 0.07 * (c + 1));
    return { data, channels: 3, height: size, width: size };
  });
}

class MemoryStore implements ArtifactStore {
  private readonly items = new Map<string, Uint8Array>();
  async put(key: string, body: Uint8Array): Promise<void> {
    this.items.set(key, body);
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.items.get(key);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.items.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

interface Timings {
  evalMs: number[];
  evalCalls: number[];
  trainMs: number[];
  trainCalls: number[];
  stepMs: number[];
}

async function benchOne(name: string): Promise<Record<string, unknown>> {
  const dir = join(fixtures, name);
  const size = await modelResolution(dir);
  const t: Timings = { evalMs: [], evalCalls: [], trainMs: [], trainCalls: [], stepMs: [] };
  let evalCallsThisStep = 0;
  let trainCallsThisStep = 0;
  let stepStart = 0;
  const loadStart = performance.now();
  let loadMs = 0;
  const result = await runPersonalization(
    { ...TI_DEFAULTS, token: '<bench>', initializerToken: 'object', maxSteps: steps, batchSize: BATCH },
    {
      pipelineDir: dir,
      images: syntheticImages(3, size),
      // The trainer's own model; only its two objective calls are wrapped with timers and call counters.
      loadModel: async (request) => {
        const model = await loadOnnxModel(request, { device: 'cpu', intraOpThreads: threads });
        loadMs = performance.now() - loadStart;
        return {
          ...model,
          objective: {
            async loss(rows, batch) {
              if (batch.size !== EVAL_BATCH)
                throw new Error(`eval batch ${batch.size}, expected ${EVAL_BATCH}`);
              const t0 = performance.now();
              const value = await model.objective.loss(rows, batch);
              t.evalMs.push(performance.now() - t0);
              evalCallsThisStep++;
              return value;
            },
            async lossAndGradient(rows, batch) {
              const t0 = performance.now();
              const value = await model.objective.lossAndGradient(rows, batch);
              t.trainMs.push(performance.now() - t0);
              trainCallsThisStep++;
              return value;
            },
          },
        };
      },
      openSink: async () => ({
        write: async (_: LossSample) => {},
        flush: async () => {},
      }),
      stopSignal: { check: async () => ({ stop: false }) },
      store: new MemoryStore(),
      resume: false,
      onReady: () => {
        stepStart = performance.now();
      },
      onStep: () => {
        const now = performance.now();
        t.stepMs.push(now - stepStart);
        t.evalCalls.push(evalCallsThisStep);
        t.trainCalls.push(trainCallsThisStep);
        evalCallsThisStep = 0;
        trainCallsThisStep = 0;
        stepStart = now;
      },
    },
  );
  // Step 0 pays onnxruntime's first-run costs; the steady state is what a long run sees.
  const steady = (values: readonly number[]) => (values.length > 1 ? values.slice(1) : values);
  const stepMs = median(steady(t.stepMs));
  const evalMs = median(steady(t.evalMs));
  const trainMs = median(steady(t.trainMs));
  // "One forward pass and nothing more": one loss-only session run per evaluated step, on a graph that
  // computes no gradient (its node count is the forward's, far below the training graph's).
  const graph = buildTrainingGraph(dir, { batchSize: BATCH, forwardBatchSize: EVAL_BATCH });
  return {
    fixture: name,
    resolution: size,
    batchSize: BATCH,
    evalBatchSize: EVAL_BATCH,
    steps: result.steps,
    modelLoadSeconds: round(loadMs / 1000, 2),
    stepsPerSecond: round(1000 / stepMs),
    stepsPerSecondWithoutEval: round(1000 / (stepMs - evalMs)),
    medianMs: { step: round(stepMs, 1), eval: round(evalMs, 1), trainForwardBackward: round(trainMs, 1) },
    evalShareOfStep: round(evalMs / stepMs),
    evalVsTrainCall: round(evalMs / trainMs),
    evalOnePass: {
      forwardRunsPerStep: [...new Set(t.evalCalls)],
      trainRunsPerStep: [...new Set(t.trainCalls)],
      forwardGraphNodes: graph.forward.graph.nodes.length,
      trainGraphNodes: graph.train.graph.nodes.length,
      forwardGraphOutputs: graph.forward.graph.outputs.map((o) => o.name),
    },
  };
}

const results: Record<string, unknown>[] = [];
for (const name of selected) results.push(await benchOne(name));
const peakRssMiB = process.resourceUsage().maxRSS / 1024;
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'trainer',
      quick,
      device: 'cpu',
      intraOpThreads: threads,
      node: process.version,
      results,
      peakRssMiB: round(peakRssMiB, 1),
    },
    null,
    2,
  )}\n`,
);
