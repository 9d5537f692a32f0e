// One personalization run on one pipeline folder, for any method (methods/): tokenizer + placeholder, prompt ids
// per template, scheduler, VAE latents, the fixed evaluation batch, the packed trainable tensors (token row + the
// method's), resume from the latest checkpoint, the training loop, and the output files — `<token>.safetensors`
// and the method's own — written through the ArtifactStore (a put is all-or-nothing). The model (VAE encoder
// and the training graph) comes in through `loadModel`, so this file needs no ORT.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { METHOD_DEFAULTS } from '../../../shared/methods.ts';
import type { ArtifactStore, SampleSink, StopSignal } from '../../../shared/ports.ts';
import { ADAMW_DEFAULTS } from './adamw.ts';
import {
  batchSource,
  buildLatentCache,
  type PixelImage,
  type TrainBatch,
  type VaeEncode,
} from './batches.ts';
import { type Fingerprint, loadLatestCheckpoint, type TrainState } from './checkpoint.ts';
import { type DdpmSchedule, parseSchedulerConfig } from './ddpm.ts';
import { embeddingFileName, encodeEmbeddingFile } from './embedding-file.ts';
import { type MethodConfig, methodFor } from './methods/index.ts';
import type { NamedTensor } from './methods/method.ts';
import type { LossAndGradient, StopCriterion } from './objective.ts';
import { RESCALE_HINTS } from './random-rescale.ts';
import { Rng } from './rng.ts';
import { fillTemplate, type TemplateSet, templatesFor } from './templates.ts';
import { loadTokenizer } from './tokenizer.ts';
import { initialState, runTrainingLoop, type StepProgress, type TrainResult } from './train-loop.ts';
import { layoutOf, learningRateRanges, packInitial, slotView, type TrainableSpec } from './trainables.ts';
import type { UnetSurgery } from './training-graph.ts';

/** The graph input of the token row(s); the token row's parameter group. */
export const TOKEN_ROWS = 'placeholder_rows';
const TOKEN_GROUP = 'token';

export interface RunSettings {
  /** The method and its own settings (default: textual inversion). */
  readonly method?: MethodConfig;
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
  /**
   * The token row's own learning rate before batch scaling, where it differs from `learningRate` (Custom
   * Diffusion and DreamBooth-LoRA train the row beside UNet tensors); absent = `learningRate`.
   */
  readonly tokenLearningRate?: number;
}

/** Loop settings that are not the method's (seed, templates, nVectors, checkpoint and flush cadence). */
export const LOOP_DEFAULTS = {
  templates: 'object',
  seed: 59,
  nVectors: 1,
  checkpointEvery: 100,
  flushEvery: 10,
} as const;

/** Every default of a run of `method`: its own (shared/methods.ts) plus the loop's. */
export function runDefaults(method: keyof typeof METHOD_DEFAULTS) {
  const d = METHOD_DEFAULTS[method];
  return {
    ...LOOP_DEFAULTS,
    initializerToken: d.initializerToken,
    learningRate: d.learningRate,
    scaleLr: d.scaleLr,
    batchSize: d.batchSize,
    maxSteps: d.maxSteps,
    evalBatchSize: d.evalBatchSize,
    evalEvery: d.evalEvery,
  };
}

/** The paper's TI defaults; callers override what the job or command line sets. */
export const TI_DEFAULTS = runDefaults('textual-inversion');

/**
 * What the runtime provides for one pipeline: the VAE encoder and the training graph. Its objective takes the
 * packed trainables: the token rows first, then `methodTensors` in their order.
 */
export interface TrainingModel {
  /** Text encoder hidden size D. */
  readonly hiddenSize: number;
  /** The trainable rows' starting values, [nVectors × D] (the initializer token's embedding, repeated). */
  readonly initialRows: Float32Array;
  /**
   * Throws when a training step at this latent size would not fit the GPU the job runs on (absent: not checked,
   * e.g. on the CPU). Called once the images' latent size is known, before the first step.
   */
  readonly assertFits?: (latentShape: readonly [number, number, number]) => void;
  /** The method's tensors (graph inputs the surgery added), in packing order after the rows. */
  readonly methodTensors?: readonly { readonly name: string; readonly dims: readonly number[] }[];
  readonly encodeVae: VaeEncode;
  readonly objective: LossAndGradient<TrainBatch>;
  release(): Promise<void>;
}

export interface ModelRequest {
  readonly pipelineDir: string;
  readonly placeholderId: number;
  readonly initializerId: number;
  readonly vocabSize: number;
  readonly nVectors: number;
  readonly schedule: DdpmSchedule;
  /** Batch sizes the graphs will always run with, when known: a static batch lets onnxruntime plan memory fast. */
  readonly batchSize?: number;
  readonly evalBatchSize?: number;
  /** Min-SNR-γ loss weights (TrainingGraphOptions.snrGamma); absent = the paper's plain MSE. */
  readonly snrGamma?: number;
  /** The method's UNet rewrite (its tensors become inputs); absent for textual inversion. */
  readonly unetSurgery?: UnetSurgery;
  /** Batches carry per-cell loss weights (TrainBatch.lossWeights): masked loss, prior loss weight ≠ 1. */
  readonly lossWeights?: boolean;
}

export interface RunDeps {
  readonly pipelineDir: string;
  readonly images: readonly PixelImage[];
  readonly loadModel: (request: ModelRequest) => Promise<TrainingModel>;
  /** Opens the sample sink; `fromStep` is where this run starts (samples at or after it are rewritten). */
  readonly openSink: (fromStep: number) => Promise<SampleSink>;
  readonly stopSignal: StopSignal;
  readonly store: ArtifactStore;
  /**
   * Class images for the method's prior preservation (uploaded and generated, prepared by the caller). Absent or
   * empty: the run trains on the instance images only, whatever the method asks.
   */
  readonly classImages?: readonly PixelImage[];
  /** Continue from the latest checkpoint in `store` when there is one. */
  readonly resume: boolean;
  /** The in-process criterion (standalone); absent when the monitor decides. */
  readonly criterion?: () => StopCriterion;
  /** Facts recorded in the output metadata (e.g. DVAR window and threshold, base model name). */
  readonly outputFacts?: Readonly<Record<string, string | number | boolean | null>>;
  readonly clock?: () => number;
  readonly onStep?: (progress: StepProgress) => void;
  readonly onCheckpoint?: (key: string, step: number) => void;
  /** True once the process must end: the loop checkpoints its step and throws TrainingInterrupted. */
  readonly interrupted?: () => boolean;
  /** `lr`: the rate after batch scaling; `tokenLr`: the token row's, where it has its own. */
  readonly onReady?: (info: {
    readonly resumedFrom: number | null;
    readonly lr: number;
    readonly tokenLr?: number;
  }) => void;
}

export interface RunResult extends TrainResult {
  readonly lr: number;
  /** The token file, `output/<token>.safetensors`. */
  readonly outputKey: string;
  /** Every file written under output/ (the token file first, then the method's). */
  readonly outputKeys: readonly string[];
  /** The learned token row(s), [nVectors × D]. */
  readonly rows: Float32Array;
  /** The method's trained tensors (views into `params`). */
  readonly methodTensors: readonly NamedTensor[];
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
  settings: Pick<RunSettings, 'learningRate' | 'scaleLr' | 'batchSize'>,
): number {
  return settings.scaleLr ? settings.learningRate * settings.batchSize : settings.learningRate;
}

/** Learning rates of single parameter groups, scaled by `scale` as the run's is, where they differ from it. */
function groupLearningRatesOf(settings: RunSettings, scale: number): Readonly<Record<string, number>> {
  if (settings.tokenLearningRate === undefined) return {};
  return { [TOKEN_GROUP]: settings.tokenLearningRate * scale };
}

/** Settings that change the numbers of a run; a checkpoint made under other values is not resumed. */
function fingerprintOf(settings: RunSettings, images: number, methodPrint: Fingerprint): Fingerprint {
  const method = settings.method?.name ?? 'textual-inversion';
  // Textual inversion's checkpoints predate the method field, so it is only recorded for the other methods.
  const methodField: Fingerprint = method === 'textual-inversion' ? {} : { method };
  return {
    ...methodField,
    ...methodPrint,
    // Only when set, so checkpoints from before the option resume unchanged.
    ...(settings.tokenLearningRate === undefined ? {} : { tokenLearningRate: settings.tokenLearningRate }),
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

/**
 * The prior-preservation loss L_instance + λ·L_prior, each the mean over its half of the batch: the graph's mean
 * over the whole batch, with the class items' errors weighted λ (the batches' loss weights; with λ = 1 and no
 * weights the plain mean), is half of it. ×2 is exact in float32, and it matters: the gradient clip sees it.
 */
function priorObjective(objective: LossAndGradient<TrainBatch>): LossAndGradient<TrainBatch> {
  return {
    loss: (params, batch) => objective.loss(params, batch),
    async lossAndGradient(params, batch) {
      const { loss, gradient } = await objective.lossAndGradient(params, batch);
      for (let i = 0; i < gradient.length; i++) gradient[i] = gradient[i]! * 2;
      return { loss: loss * 2, gradient };
    },
  };
}

/**
 * The captions with each rescale hint prefixed ("a far away a photo of a <tok> cat", as the reference code
 * writes it), by `<kind>.<index>`; a hint whose words the tokenizer does not know (the embedded model's small
 * vocabulary) is left out, and its draws keep the plain caption.
 */
async function hintedPrompts(
  tokenizer: Awaited<ReturnType<typeof loadTokenizer>>,
  captions: readonly string[],
): Promise<Record<string, number[][]>> {
  const out: Record<string, number[][]> = {};
  for (const kind of ['far', 'near'] as const) {
    for (const [index, hint] of RESCALE_HINTS[kind].entries()) {
      if (!(await tokenizer.knows(hint))) continue;
      out[`${kind}.${index}`] = await Promise.all(captions.map((c) => tokenizer.encode(`${hint}${c}`)));
    }
  }
  return out;
}

export async function runPersonalization(settings: RunSettings, deps: RunDeps): Promise<RunResult> {
  if (settings.nVectors !== 1) {
    // Several vectors need several placeholder tokens in every prompt (diffusers' <tok>_1 …); not built yet.
    throw new Error(`nVectors ${settings.nVectors} is not supported yet (only 1)`);
  }
  const method = methodFor(settings.method ?? { name: 'textual-inversion' });
  const tokenizer = await loadTokenizer(join(deps.pipelineDir, 'tokenizer'));
  const outputKey = `output/${embeddingFileName(settings.token)}`;
  const vocabSize = tokenizer.vocabSize;
  const initializerId = await tokenizer.initializerId(settings.initializerToken);
  const placeholderId = await tokenizer.addPlaceholderToken(settings.token);
  // A method with its own caption (Custom Diffusion: "a photo of a <tok> <class>") uses it for every image.
  const captions = method.caption
    ? [method.caption(settings.token)]
    : templatesFor(settings.templates).map((template) => fillTemplate(template, settings.token));
  const promptIds = await Promise.all(captions.map((caption) => tokenizer.encode(caption)));
  if (!promptIds.every((ids) => ids.includes(placeholderId))) {
    throw new Error(`the placeholder ${settings.token} was lost when tokenizing the prompts (truncated?)`);
  }
  const schedule = parseSchedulerConfig(
    await readJson(join(deps.pipelineDir, 'scheduler', 'scheduler_config.json')),
  );
  // Prior preservation: the class prompt's ids, and the batch doubled (instance items, then as many class items).
  const prior = method.prior && (deps.classImages?.length ?? 0) > 0 ? method.prior : undefined;
  const rescale = method.randomRescale === true;
  // Per-cell loss weights in the graph only where they change something: a masked loss, or a prior weight ≠ 1.
  const lossWeights = rescale || (prior !== undefined && prior.weight !== 1);
  const classIds = prior ? await tokenizer.encode(prior.prompt) : undefined;
  const hintedPromptIds = rescale ? await hintedPrompts(tokenizer, captions) : {};
  // The paper's code doubles the learning rate with prior preservation (Custom Diffusion: 1e-5 × 2 × 2 = 4e-5).
  const lrScale = effectiveLearningRate({ ...settings, learningRate: 1 }) * (prior ? 2 : 1);
  const lr = settings.learningRate * lrScale;
  const fingerprint = fingerprintOf(settings, deps.images.length, {
    ...method.fingerprint,
    ...(prior ? { 'prior.images': deps.classImages?.length ?? 0, 'prior.weight': prior.weight } : {}),
  });

  const saved = deps.resume ? await loadLatestCheckpoint(deps.store) : undefined;
  const model = await deps.loadModel({
    pipelineDir: deps.pipelineDir,
    placeholderId,
    initializerId,
    vocabSize,
    nVectors: settings.nVectors,
    schedule,
    batchSize: settings.batchSize * (prior ? 2 : 1),
    evalBatchSize: settings.evalBatchSize,
    ...(settings.snrGamma === undefined ? {} : { snrGamma: settings.snrGamma }),
    ...(method.unetSurgery ? { unetSurgery: method.unetSurgery } : {}),
    ...(lossWeights ? { lossWeights: true } : {}),
  });
  try {
    if (model.initialRows.length !== settings.nVectors * model.hiddenSize) {
      throw new Error(
        `model gave ${model.initialRows.length} initial values, expected ${settings.nVectors} × ${model.hiddenSize}`,
      );
    }
    // The packed trainables: the token row(s), then the method's tensors with their seeded initial values.
    const initRng = Rng.forStream(settings.seed, 'init');
    const specs: TrainableSpec[] = [
      {
        name: TOKEN_ROWS,
        dims: [settings.nVectors, model.hiddenSize],
        group: TOKEN_GROUP,
        initial: model.initialRows,
      },
      ...(model.methodTensors ?? []).map((t) => ({
        name: t.name,
        dims: t.dims,
        group: method.group,
        initial: method.initial(t, initRng),
      })),
    ];
    const layout = layoutOf(specs);
    const initial = packInitial(layout, specs);
    const cache = await buildLatentCache(deps.images, model.encodeVae, {
      seed: settings.seed,
      scalingFactor: await scalingFactor(deps.pipelineDir),
    });
    model.assertFits?.(cache.latentShape);
    const priorSetup =
      prior && classIds && deps.classImages
        ? {
            cache: await buildLatentCache(deps.classImages, model.encodeVae, {
              seed: settings.seed,
              scalingFactor: await scalingFactor(deps.pipelineDir),
              stream: 'class-latents',
            }),
            promptIds: classIds,
          }
        : undefined;
    const batches = batchSource({
      cache,
      schedule,
      promptIds,
      batchSize: settings.batchSize,
      evalBatchSize: settings.evalBatchSize,
      seed: settings.seed,
      ...(priorSetup ? { prior: priorSetup } : {}),
      ...(lossWeights ? { lossWeights: { prior: prior?.weight ?? 1 } } : {}),
      ...(rescale ? { rescale: { images: deps.images, encode: model.encodeVae, hintedPromptIds } } : {}),
    });
    const start: TrainState = saved ?? initialState(initial, settings.seed, fingerprint);
    if (start.params.length !== layout.size) {
      throw new Error(`checkpoint has ${start.params.length} values, the model needs ${layout.size}`);
    }
    const sink = await deps.openSink(start.step);
    const tokenLr = groupLearningRatesOf(settings, lrScale)[TOKEN_GROUP];
    deps.onReady?.({
      resumedFrom: saved ? saved.step : null,
      lr,
      ...(tokenLr === undefined ? {} : { tokenLr }),
    });
    const result = await runTrainingLoop(
      start,
      {
        lr,
        lrRanges: learningRateRanges(layout, lr, groupLearningRatesOf(settings, lrScale)),
        ...(method.maxGradNorm === undefined ? {} : { maxGradNorm: method.maxGradNorm }),
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
        objective: prior ? priorObjective(model.objective) : model.objective,
        batches,
        sink,
        stopSignal: deps.stopSignal,
        store: deps.store,
        ...(deps.criterion ? { criterion: deps.criterion } : {}),
        ...(deps.clock ? { clock: deps.clock } : {}),
        ...(deps.onStep ? { onStep: deps.onStep } : {}),
        ...(deps.onCheckpoint ? { onCheckpoint: deps.onCheckpoint } : {}),
        ...(deps.interrupted ? { interrupted: deps.interrupted } : {}),
      },
    );
    const [rowsSlot, ...methodSlots] = layout.slots;
    const rows = Float32Array.from(slotView(result.params, rowsSlot!));
    const methodTensors: NamedTensor[] = methodSlots.map((slot) => ({
      name: slot.name,
      dims: slot.dims,
      data: slotView(result.params, slot),
    }));
    const facts = {
      method: method.name,
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
      ...(prior
        ? { prior_class_images: deps.classImages?.length ?? 0, prior_loss_weight: prior.weight }
        : {}),
      ...(rescale ? { random_rescale: true } : {}),
      ...deps.outputFacts,
    };
    const file = encodeEmbeddingFile({
      token: settings.token,
      rows,
      nVectors: settings.nVectors,
      hiddenSize: model.hiddenSize,
      predictionType: schedule.predictionType,
      plateau: facts,
    });
    // The method's files first, the token file last: finalize treats the token file as the run's result.
    const methodFiles = method.outputs(methodTensors, {
      token: settings.token,
      pipelineDir: deps.pipelineDir,
      hiddenSize: model.hiddenSize,
      predictionType: schedule.predictionType,
      facts,
    });
    for (const f of methodFiles) await deps.store.put(f.key, f.body, f.contentType);
    await deps.store.put(outputKey, file, 'application/octet-stream');
    return {
      ...result,
      lr,
      outputKey,
      outputKeys: [outputKey, ...methodFiles.map((f) => f.key)],
      rows,
      methodTensors,
    };
  } finally {
    await model.release();
  }
}
