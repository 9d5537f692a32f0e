// One fixed-budget run of any method that serves every stopping rule: the trainer's own runPersonalization (no
// criterion, evaluation every step) with its objective wrapped to record, at each step s, the deterministic loss,
// the packed trainables before the update (= the weights after s updates: token row, then the method's tensors)
// and how long the evaluation forward pass and the training step took. Any rule's result is then the recorded
// weights at the step where it would stop.
import type { ArtifactStore, SampleSink, StopSignal } from '../../shared/ports.ts';
import type { PixelImage } from '../../trainer-image/src/train/batches.ts';
import type { MethodConfig } from '../../trainer-image/src/train/methods/index.ts';
import type { NamedTensor } from '../../trainer-image/src/train/methods/method.ts';
import { loadOnnxModel } from '../../trainer-image/src/train/onnx-model.ts';
import {
  type ModelRequest,
  type RunSettings,
  runDefaults,
  runPersonalization,
  type TrainingModel,
} from '../../trainer-image/src/train/personalize.ts';
import type { BenchConcept } from './concepts.ts';

export interface RecordedRun {
  readonly conceptId: string;
  readonly hiddenSize: number;
  readonly cap: number;
  /** losses[s]: deterministic loss before step s's update (s = 0 … cap − 1). */
  readonly losses: readonly number[];
  readonly trainLosses: readonly number[];
  /** paramsAt(s): the packed trainables after s updates (s = 0 … cap): token row, then the method's tensors. */
  paramsAt(step: number): Float32Array;
  /** The method's tensors in packing order after the token row (empty for textual inversion). */
  readonly methodTensors: readonly { readonly name: string; readonly dims: readonly number[] }[];
  /** Median ms of one evaluation forward pass and of one training step (loss + gradient + AdamW). */
  readonly evalMs: number;
  readonly trainMs: number;
  /** Total wall time of the run, ms (evaluations included). */
  readonly wallMs: number;
  readonly lr: number;
}

class MemoryStore implements ArtifactStore {
  readonly #objects = new Map<string, Uint8Array>();
  async put(key: string, body: Uint8Array): Promise<void> {
    this.#objects.set(key, body);
  }
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.#objects.get(key);
  }
  async list(prefix: string): Promise<string[]> {
    return [...this.#objects.keys()].filter((k) => k.startsWith(prefix));
  }
}

const nullSink: SampleSink = { write: async () => {}, flush: async () => {} };
const neverStop: StopSignal = { check: async () => ({ stop: false }) };

function medianOf(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface RecordOptions {
  readonly pipelineDir: string;
  /** The method and its settings (default: textual inversion). */
  readonly method?: MethodConfig;
  /** Prior preservation's class images (Custom Diffusion); absent = instance images only. */
  readonly classImages?: readonly PixelImage[];
  readonly cap: number;
  readonly seed: number;
  /** Textual-inversion learning rate before batch scaling (RunSettings.learningRate). */
  readonly learningRate: number;
  /** The token row's own learning rate before batch scaling (RunSettings.tokenLearningRate). */
  readonly tokenLearningRate?: number;
  readonly snrGamma?: number;
  readonly threads: number;
  readonly onProgress?: (step: number) => void;
}

export async function recordFixedBudgetRun(concept: BenchConcept, o: RecordOptions): Promise<RecordedRun> {
  let hiddenSize = 0;
  let methodTensors: RecordedRun['methodTensors'] = [];
  const rows: Float32Array[] = [];
  const losses: number[] = [];
  const trainLosses: number[] = [];
  const evalTimes: number[] = [];
  const trainTimes: number[] = [];
  let trainStarted = 0;

  const loadModel = async (request: ModelRequest): Promise<TrainingModel> => {
    const model = await loadOnnxModel(request, { device: 'cpu', intraOpThreads: o.threads });
    hiddenSize = model.hiddenSize;
    methodTensors = model.methodTensors ?? [];
    return {
      ...model,
      encodeVae: model.encodeVae,
      release: () => model.release(),
      objective: {
        async loss(rowsNow, batch) {
          // The loop evaluates before training step s with the weights after s updates.
          const started = performance.now();
          const value = await model.objective.loss(rowsNow, batch);
          evalTimes.push(performance.now() - started);
          rows.push(Float32Array.from(rowsNow));
          losses.push(value);
          return value;
        },
        async lossAndGradient(rowsNow, batch) {
          trainStarted = performance.now();
          const out = await model.objective.lossAndGradient(rowsNow, batch);
          trainLosses.push(out.loss);
          return out;
        },
      },
    };
  };

  const method = o.method ?? { name: 'textual-inversion' };
  const settings: RunSettings = {
    ...runDefaults(method.name),
    method,
    token: concept.token,
    initializerToken: concept.initializer,
    seed: o.seed,
    learningRate: o.learningRate,
    ...(o.tokenLearningRate === undefined ? {} : { tokenLearningRate: o.tokenLearningRate }),
    ...(o.snrGamma === undefined ? {} : { snrGamma: o.snrGamma }),
    maxSteps: o.cap,
    evalEvery: 1,
    // No checkpoint but the final one, flushes to a sink that keeps nothing: the loop's own costs stay out.
    checkpointEvery: o.cap + 1,
    flushEvery: o.cap + 1,
  };
  const started = performance.now();
  const result = await runPersonalization(settings, {
    pipelineDir: o.pipelineDir,
    images: concept.images,
    loadModel,
    openSink: async () => nullSink,
    stopSignal: neverStop,
    store: new MemoryStore(),
    ...(o.classImages ? { classImages: o.classImages } : {}),
    resume: false,
    onStep: (progress) => {
      // onStep runs after the AdamW update: this step's training time is gradient + update.
      trainTimes.push(performance.now() - trainStarted);
      o.onProgress?.(progress.step);
    },
  });
  const wallMs = performance.now() - started;
  rows.push(Float32Array.from(result.params));
  if (losses.length !== o.cap || rows.length !== o.cap + 1) {
    throw new Error(`recorded ${losses.length} losses and ${rows.length} rows for a cap of ${o.cap} steps`);
  }
  return {
    conceptId: concept.id,
    hiddenSize,
    cap: o.cap,
    losses,
    trainLosses,
    paramsAt(step) {
      const row = rows[step];
      if (!row) throw new RangeError(`no recorded weights at step ${step} (0 … ${o.cap})`);
      return row;
    },
    methodTensors,
    evalMs: medianOf(evalTimes),
    trainMs: medianOf(trainTimes),
    wallMs,
    lr: result.lr,
  };
}

/** Splits packed trainables into the token row(s) and the method's tensors (views, no copy). */
export function unpackParams(
  params: Float32Array,
  hiddenSize: number,
  methodTensors: RecordedRun['methodTensors'],
): { readonly rows: Float32Array; readonly tensors: NamedTensor[] } {
  let offset = hiddenSize;
  const tensors = methodTensors.map((t) => {
    const size = t.dims.reduce((a, b) => a * b, 1);
    const data = params.subarray(offset, offset + size);
    offset += size;
    return { name: t.name, dims: t.dims, data };
  });
  if (offset !== params.length) {
    throw new Error(`packed weights hold ${params.length} values, the layout ${offset}`);
  }
  return { rows: params.subarray(0, hiddenSize), tensors };
}
