// Textual inversion end to end on one pipeline folder: tokenizer + placeholder, prompt ids per template,
// scheduler, VAE latents, the fixed evaluation batch, resume from the latest checkpoint, the training loop,
// and the `<token>.safetensors` result written through the ArtifactStore (atomically: a put is all-or-nothing).
// The model (VAE encoder and the training graph) comes in through `loadModel`, so this file needs no ORT.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactStore, SampleSink, StopSignal } from '../../../shared/ports.ts';
import { ADAMW_DEFAULTS } from './adamw.ts';
import { type Fingerprint, loadLatestCheckpoint, type TrainState } from './checkpoint.ts';
import { type DdpmSchedule, parseSchedulerConfig } from './ddpm.ts';
import { embeddingFileName, encodeEmbeddingFile } from './embedding-file.ts';
import type { LossAndGradient, StopCriterion } from './objective.ts';
import { fillTemplate, type TemplateSet, templatesFor } from './templates.ts';
import {
  buildLatentCache,
  type PixelImage,
  type TiBatch,
  tiBatchSource,
  type VaeEncode,
} from './ti-batches.ts';
import { loadTokenizer } from './tokenizer.ts';
import { initialState, runTrainingLoop, type StepProgress, type TrainResult } from './train-loop.ts';

export interface TiSettings {
  readonly token: string;
  readonly initializerToken: string;
  readonly templates: TemplateSet;
  readonly learningRate: number;
  readonly scaleLr: boolean;
  readonly batchSize: number;
  readonly seed: number;
  readonly maxSteps: number;
  readonly evalBatchSize: number;
  readonly evalEvery: number;
  /** Vectors learned for the token (1 in the paper). */
  readonly nVectors: number;
  readonly checkpointEvery: number;
  readonly flushEvery: number;
  /** Flush (and check the stop signal) at least this often, in ms; absent = by step count only. */
  readonly flushIntervalMs?: number;
  /** Min-SNR-γ loss weights for training and the DVAR evaluation alike; absent = the paper's plain MSE. */
  readonly snrGamma?: number;
}

/** The paper's TI defaults (docs/contracts.md); callers override what the job or command line sets. */
export const TI_DEFAULTS = {
  initializerToken: 'object',
  templates: 'object',
  learningRate: 5e-3,
  scaleLr: true,
  batchSize: 2,
  seed: 59,
  maxSteps: 6100,
  evalBatchSize: 4,
  evalEvery: 1,
  nVectors: 1,
  checkpointEvery: 100,
  flushEvery: 10,
} as const;

/** What the runtime provides for one pipeline: the VAE encoder and the training graph for the placeholder. */
export interface TiModel {
  /** Text encoder hidden size D. */
  readonly hiddenSize: number;
  /** The trainable rows' starting values, [nVectors × D] (the initializer token's embedding, repeated). */
  readonly initialRows: Float32Array;
  readonly encodeVae: VaeEncode;
  readonly objective: LossAndGradient<TiBatch>;
  release(): Promise<void>;
}

export interface TiModelRequest {
  readonly pipelineDir: string;
  readonly placeholderId: number;
  readonly initializerId: number;
  readonly vocabSize: number;
  readonly nVectors: number;
  readonly schedule: DdpmSchedule;
  /** Batch sizes the graphs will always run with, when known: a static batch lets onnxruntime plan memory fast. */
  readonly batchSize?: number;
  readonly evalBatchSize?: number;
  /** Min-SNR-γ loss weights (TextualInversionGraphOptions.snrGamma); absent = the paper's plain MSE. */
  readonly snrGamma?: number;
}

export interface TiDeps {
  readonly pipelineDir: string;
  readonly images: readonly PixelImage[];
  readonly loadModel: (request: TiModelRequest) => Promise<TiModel>;
  /** Opens the sample sink; `fromStep` is where this run starts (samples at or after it are rewritten). */
  readonly openSink: (fromStep: number) => Promise<SampleSink>;
  readonly stopSignal: StopSignal;
  readonly store: ArtifactStore;
  /** Continue from the latest checkpoint in `store` when there is one. */
  readonly resume: boolean;
  /** The in-process criterion (standalone); absent when the monitor decides. */
  readonly criterion?: () => StopCriterion;
  /** Facts recorded in the output metadata (e.g. DVAR window and threshold, base model name). */
  readonly outputFacts?: Readonly<Record<string, string | number | boolean | null>>;
  readonly clock?: () => number;
  readonly onStep?: (progress: StepProgress) => void;
  readonly onCheckpoint?: (key: string, step: number) => void;
  readonly onReady?: (info: { readonly resumedFrom: number | null; readonly lr: number }) => void;
}

export interface TiResult extends TrainResult {
  readonly lr: number;
  readonly outputKey: string;
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${path}: not valid JSON`);
  }
}

/** VAE scaling_factor from the vae_encoder (or vae) config; SD's 0.18215 when neither says. */
async function scalingFactor(pipelineDir: string): Promise<number> {
  for (const folder of ['vae_encoder', 'vae']) {
    let config: unknown;
    try {
      config = JSON.parse(await readFile(join(pipelineDir, folder, 'config.json'), 'utf8'));
    } catch {
      continue;
    }
    if (typeof config === 'object' && config !== null && 'scaling_factor' in config) {
      const value = config.scaling_factor;
      if (typeof value === 'number' && value > 0) return value;
    }
  }
  return 0.18215;
}

export function effectiveLearningRate(
  settings: Pick<TiSettings, 'learningRate' | 'scaleLr' | 'batchSize'>,
): number {
  return settings.scaleLr ? settings.learningRate * settings.batchSize : settings.learningRate;
}

/** Settings that change the numbers of a run; a checkpoint made under other values is not resumed. */
function fingerprintOf(settings: TiSettings, images: number): Fingerprint {
  return {
    token: settings.token,
    initializerToken: settings.initializerToken,
    templates: settings.templates,
    learningRate: settings.learningRate,
    scaleLr: settings.scaleLr,
    batchSize: settings.batchSize,
    seed: settings.seed,
    evalBatchSize: settings.evalBatchSize,
    evalEvery: settings.evalEvery,
    nVectors: settings.nVectors,
    images,
    ...(settings.snrGamma === undefined ? {} : { snrGamma: settings.snrGamma }),
  };
}

export async function runTextualInversion(settings: TiSettings, deps: TiDeps): Promise<TiResult> {
  if (settings.nVectors !== 1) {
    // Several vectors need several placeholder tokens in every prompt (diffusers' <tok>_1 …); not built yet.
    throw new Error(`nVectors ${settings.nVectors} is not supported yet (only 1)`);
  }
  const tokenizer = await loadTokenizer(join(deps.pipelineDir, 'tokenizer'));
  const outputKey = `output/${embeddingFileName(settings.token)}`;
  const vocabSize = tokenizer.vocabSize;
  const initializerId = await tokenizer.initializerId(settings.initializerToken);
  const placeholderId = await tokenizer.addPlaceholderToken(settings.token);
  const promptIds = await Promise.all(
    templatesFor(settings.templates).map((template) =>
      tokenizer.encode(fillTemplate(template, settings.token)),
    ),
  );
  if (!promptIds.every((ids) => ids.includes(placeholderId))) {
    throw new Error(`the placeholder ${settings.token} was lost when tokenizing the prompts (truncated?)`);
  }
  const schedule = parseSchedulerConfig(
    await readJson(join(deps.pipelineDir, 'scheduler', 'scheduler_config.json')),
  );
  const lr = effectiveLearningRate(settings);
  const fingerprint = fingerprintOf(settings, deps.images.length);

  const saved = deps.resume ? await loadLatestCheckpoint(deps.store) : undefined;
  const model = await deps.loadModel({
    pipelineDir: deps.pipelineDir,
    placeholderId,
    initializerId,
    vocabSize,
    nVectors: settings.nVectors,
    schedule,
    batchSize: settings.batchSize,
    evalBatchSize: settings.evalBatchSize,
    ...(settings.snrGamma === undefined ? {} : { snrGamma: settings.snrGamma }),
  });
  try {
    if (model.initialRows.length !== settings.nVectors * model.hiddenSize) {
      throw new Error(
        `model gave ${model.initialRows.length} initial values, expected ${settings.nVectors} × ${model.hiddenSize}`,
      );
    }
    const cache = await buildLatentCache(deps.images, model.encodeVae, {
      seed: settings.seed,
      scalingFactor: await scalingFactor(deps.pipelineDir),
    });
    const batches = tiBatchSource({
      cache,
      schedule,
      promptIds,
      batchSize: settings.batchSize,
      evalBatchSize: settings.evalBatchSize,
      seed: settings.seed,
    });
    const start: TrainState = saved ?? initialState(model.initialRows, settings.seed, fingerprint);
    if (start.rows.length !== model.initialRows.length) {
      throw new Error(
        `checkpoint has ${start.rows.length} values, the model needs ${model.initialRows.length}`,
      );
    }
    const sink = await deps.openSink(start.step);
    deps.onReady?.({ resumedFrom: saved ? saved.step : null, lr });
    const result = await runTrainingLoop(
      start,
      {
        lr,
        adam: ADAMW_DEFAULTS,
        seed: settings.seed,
        maxSteps: settings.maxSteps,
        evalEvery: settings.evalEvery,
        flushEvery: settings.flushEvery,
        ...(settings.flushIntervalMs === undefined ? {} : { flushIntervalMs: settings.flushIntervalMs }),
        checkpointEvery: settings.checkpointEvery,
        fingerprint,
      },
      {
        objective: model.objective,
        batches,
        sink,
        stopSignal: deps.stopSignal,
        store: deps.store,
        ...(deps.criterion ? { criterion: deps.criterion } : {}),
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(deps.onStep ? { onStep: deps.onStep } : {}),
        ...(deps.onCheckpoint ? { onCheckpoint: deps.onCheckpoint } : {}),
      },
    );
    const file = encodeEmbeddingFile({
      token: settings.token,
      rows: result.rows,
      nVectors: settings.nVectors,
      hiddenSize: model.hiddenSize,
      predictionType: schedule.predictionType,
      plateau: {
        steps: result.steps,
        stop_reason: result.stopReason,
        criterion_step: result.criterionStep,
        final_ratio: result.finalRatio,
        initializer_token: settings.initializerToken,
        learning_rate: lr,
        batch_size: settings.batchSize,
        seed: settings.seed,
        eval_batch_size: settings.evalBatchSize,
        eval_every: settings.evalEvery,
        ...deps.outputFacts,
      },
    });
    await deps.store.put(outputKey, file, 'application/octet-stream');
    return { ...result, lr, outputKey };
  } finally {
    await model.release();
  }
}
