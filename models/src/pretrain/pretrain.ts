// Pretraining of the base model with the project's own autodiff: the text encoder + UNet + MSE graph is
// differentiated w.r.t. every weight (all graph inputs), run in onnxruntime, and updated with the trainer's
// AdamW (linear warm-up, global-norm gradient clipping, EMA of the weights for export). Data: world scenes with
// captions (10% empty, for classifier-free guidance), DDPM noising with the model's own scheduler config.
// Two phases: ε-prediction up to `vPredictionFrom`, then v-prediction with min-SNR-γ loss weights (see
// objectiveAt). Seeded and resumable: the checkpoint holds weights, moments, EMA, RNG states and the losses.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGradientGraph } from '../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import { Session, type TypedTensor } from '../../../trainer-image/src/runtime/session.ts';
import { ADAMW_DEFAULTS, adamwStep } from '../../../trainer-image/src/train/adamw.ts';
import {
  minSnrWeight,
  noiseAndTarget,
  type PredictionType,
  parseSchedulerConfig,
} from '../../../trainer-image/src/train/ddpm.ts';
import { Rng } from '../../../trainer-image/src/train/rng.ts';
import { loadTokenizer } from '../../../trainer-image/src/train/tokenizer.ts';
import { pretrainForwardModel } from '../builder/components.ts';
import { type BaseModelConfig, baseModelConfig } from '../builder/config.ts';
import { initialWeights, type ParamSpec, type Weights } from '../builder/model-graph.ts';
import { schedulerConfig, tokenizerJson } from '../builder/write-package.ts';
import { vocabulary } from '../world/captions.ts';
import { sampleWorldBatch } from '../world/dataset.ts';
import { IMAGE_SIZE } from '../world/world.ts';
import { loadCheckpoint, type PretrainState, saveCheckpoint } from './checkpoint.ts';

export interface PretrainOptions {
  readonly size: 'default' | 'tiny';
  readonly seed: number;
  /** Total optimizer steps of the run (a resumed run continues up to this). */
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly warmupSteps: number;
  readonly emaDecay: number;
  /** Probability of an empty caption (classifier-free guidance). */
  readonly dropEmpty: number;
  readonly clipNorm: number;
  /**
   * Steps from this one on train v-prediction (v = √ᾱ·ε − √(1−ᾱ)·x0) instead of ε, with min-SNR-γ weights and a
   * fresh linear warm-up. Why: in pixel space an ε model's x0 estimate at high noise is (x_t − √(1−ᾱ)·ε̂)/√ᾱ,
   * which multiplies the ε error by up to 1/√ᾱ ≈ 125 — exactly the steps that decide shape and colour — and the
   * ε loss there is ~100× smaller than at low noise, so the text barely shapes it. Infinity: ε throughout.
   */
  readonly vPredictionFrom: number;
  /** γ of the min-SNR weights of the v phase: w = min(SNR, γ)/(SNR + 1) (Hang et al., 2023). */
  readonly minSnrGamma: number;
  readonly checkpointPath: string;
  readonly checkpointEvery: number;
  /** Scratch folder (the tokenizer is written there). */
  readonly workDir: string;
  readonly threads: number;
  readonly onStep?: (info: StepInfo) => void;
  /** Checked after every step: true ends the run early (with a checkpoint). */
  readonly shouldStop?: () => boolean;
}

export interface StepInfo {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly stepMs: number;
}

export interface PretrainResult {
  readonly config: BaseModelConfig;
  readonly vocab: readonly string[];
  readonly params: readonly ParamSpec[];
  readonly weights: Weights;
  readonly ema: Weights;
  readonly losses: readonly number[];
  readonly step: number;
  readonly cpuSeconds: number;
  /** What the exported UNet predicts (the objective of the last step trained). */
  readonly prediction: PredictionType;
}

export const PRETRAIN_DEFAULTS = {
  size: 'default',
  seed: 20231,
  steps: 100000,
  batchSize: 16,
  lr: 1e-3,
  warmupSteps: 200,
  emaDecay: 0.999,
  dropEmpty: 0.1,
  clipNorm: 1,
  // The committed model's first 11,738 steps were ε-prediction; v-prediction follows (a new model would start at 0).
  vPredictionFrom: 11738,
  minSnrGamma: 5,
  checkpointEvery: 100,
  threads: 1,
} as const;

/**
 * The recipe that made a checkpoint at `step`: the v-phase options join it once the run has passed
 * `vPredictionFrom`, so a checkpoint of the ε phase resumes under any later choice of phase 2.
 */
export function recipeOf(o: PretrainOptions, step: number): Record<string, string | number | boolean> {
  const phase2: Record<string, number> =
    step > o.vPredictionFrom ? { vPredictionFrom: o.vPredictionFrom, minSnrGamma: o.minSnrGamma } : {};
  return {
    size: o.size,
    seed: o.seed,
    batchSize: o.batchSize,
    lr: o.lr,
    warmupSteps: o.warmupSteps,
    emaDecay: o.emaDecay,
    dropEmpty: o.dropEmpty,
    clipNorm: o.clipNorm,
    ...phase2,
  };
}

/** What step `step` trains: the prediction target, per-timestep loss weight and learning-rate warm-up factor. */
export function objectiveAt(
  o: PretrainOptions,
  step: number,
): { prediction: PredictionType; weight: (alphaCumprod: number) => number; warmup: number } {
  if (step < o.vPredictionFrom) {
    return { prediction: 'epsilon', weight: () => 1, warmup: Math.min(1, (step + 1) / o.warmupSteps) };
  }
  return {
    prediction: 'v_prediction',
    weight: (ab) => minSnrWeight(ab, o.minSnrGamma, 'v_prediction'),
    warmup: Math.min(1, (step - o.vPredictionFrom + 1) / o.warmupSteps),
  };
}

/** Splits a flat array into per-parameter views, in declaration order. */
export function paramViews(params: readonly ParamSpec[], flat: Float32Array): Weights {
  const views: Weights = new Map();
  let offset = 0;
  for (const p of params) {
    const n = p.dims.reduce((a, b) => a * b, 1);
    views.set(p.name, flat.subarray(offset, offset + n));
    offset += n;
  }
  return views;
}

function freshState(params: readonly ParamSpec[], o: PretrainOptions): PretrainState {
  const init = initialWeights(params, o.seed);
  const size = params.reduce((a, p) => a + p.dims.reduce((x, y) => x * y, 1), 0);
  const weights = new Float32Array(size);
  let offset = 0;
  for (const p of params) {
    const values = init.get(p.name) ?? new Float32Array(0);
    weights.set(values, offset);
    offset += values.length;
  }
  return {
    header: {
      step: 0,
      adamStep: 0,
      dataRng: [...Rng.forStream(o.seed, 'pretrain-data').state()],
      noiseRng: [...Rng.forStream(o.seed, 'pretrain-noise').state()],
      losses: [],
      cpuSeconds: 0,
      recipe: recipeOf(o, 0),
      size,
    },
    weights,
    m: new Float32Array(size),
    v: new Float32Array(size),
    ema: weights.slice(),
  };
}

export async function pretrain(o: PretrainOptions): Promise<PretrainResult> {
  const vocab = vocabulary();
  const config = baseModelConfig(vocab.length, o.size);
  const forward = pretrainForwardModel(config);
  const params = forward.params;
  const names = params.map((p) => p.name);
  const { model, gradients } = buildGradientGraph(forward.model, { loss: 'loss', wrt: names });
  const session = await Session.create(encodeModel(model), { intraOpThreads: o.threads });
  const gradNames = names.map((n) => gradients[n] ?? '');

  const tokDir = join(o.workDir, 'tokenizer');
  mkdirSync(tokDir, { recursive: true });
  writeFileSync(
    join(tokDir, 'tokenizer.json'),
    JSON.stringify(tokenizerJson(vocab, config.textEncoder.maxLength)),
  );
  const tokenizer = await loadTokenizer(tokDir, { maxLength: config.textEncoder.maxLength });
  const schedules = {
    epsilon: parseSchedulerConfig(schedulerConfig('epsilon')),
    v_prediction: parseSchedulerConfig(schedulerConfig('v_prediction')),
  };

  const resumed = loadCheckpoint(o.checkpointPath);
  if (resumed && JSON.stringify(resumed.header.recipe) !== JSON.stringify(recipeOf(o, resumed.header.step))) {
    throw new Error(
      `${o.checkpointPath}: made with another recipe (${JSON.stringify(resumed.header.recipe)}); delete it or use the same options`,
    );
  }
  const state = resumed ?? freshState(params, o);
  const { weights, m, v, ema } = state;
  if (weights.length !== state.header.size) throw new Error('checkpoint does not match the model size');
  const header = { ...state.header, losses: [...state.header.losses] };
  const dataRng = Rng.fromState(header.dataRng);
  const noiseRng = Rng.fromState(header.noiseRng);
  const views = paramViews(params, weights);
  const grad = new Float32Array(weights.length);
  const adam = { step: header.adamStep, m, v };
  const per = 3 * IMAGE_SIZE * IMAGE_SIZE;
  const B = o.batchSize;
  const L = config.textEncoder.maxLength;
  const cpuStart = process.cpuUsage();
  const cpuBefore = header.cpuSeconds;

  const checkpoint = () => {
    const used = process.cpuUsage(cpuStart);
    header.cpuSeconds = cpuBefore + (used.user + used.system) / 1e6;
    header.dataRng = [...dataRng.state()];
    header.noiseRng = [...noiseRng.state()];
    header.adamStep = adam.step;
    header.recipe = recipeOf(o, header.step);
    saveCheckpoint(o.checkpointPath, { header, weights, m, v, ema });
  };

  while (header.step < o.steps) {
    const started = performance.now();
    const batch = sampleWorldBatch(dataRng, B, o.dropEmpty);
    const ids = new BigInt64Array(B * L);
    for (let b = 0; b < B; b++) {
      const encoded = await tokenizer.encode(batch.captions[b] ?? '');
      encoded.forEach((id, i) => {
        ids[b * L + i] = BigInt(id);
      });
    }
    const objective = objectiveAt(o, header.step);
    const schedule = schedules[objective.prediction];
    const timesteps = Array.from({ length: B }, () => noiseRng.nextInt(schedule.numTrainTimesteps));
    const noise = noiseRng.normal(B * per);
    const { noisy, target } = noiseAndTarget(schedule, batch.images, noise, timesteps);
    const lossWeight = Float32Array.from(timesteps, (t) => objective.weight(schedule.alphasCumprod[t] ?? 1));
    const feeds: Record<string, TypedTensor> = {
      input_ids: { dataType: 7, dims: [B, L], data: ids },
      noisy: { dataType: 1, dims: [B, 3, IMAGE_SIZE, IMAGE_SIZE], data: noisy },
      target: { dataType: 1, dims: [B, 3, IMAGE_SIZE, IMAGE_SIZE], data: target },
      loss_weight: { dataType: 1, dims: [B, 1, 1, 1], data: lossWeight },
      timestep: { dataType: 7, dims: [B], data: BigInt64Array.from(timesteps.map((t) => BigInt(t))) },
    };
    for (const p of params)
      feeds[p.name] = { dataType: 1, dims: p.dims, data: views.get(p.name) ?? new Float32Array(0) };
    const out = await session.run(feeds, ['loss', ...gradNames]);
    const loss = out.loss?.data[0];
    if (typeof loss !== 'number' || !Number.isFinite(loss))
      throw new Error(`step ${header.step}: loss is ${loss}`);
    let offset = 0;
    let sq = 0;
    for (const gname of gradNames) {
      const g = out[gname]?.data;
      if (!(g instanceof Float32Array)) throw new Error(`gradient ${gname} missing`);
      grad.set(g, offset);
      offset += g.length;
      for (let i = 0; i < g.length; i++) sq += (g[i] ?? 0) ** 2;
    }
    const norm = Math.sqrt(sq);
    if (norm > o.clipNorm) {
      const s = o.clipNorm / norm;
      for (let i = 0; i < grad.length; i++) grad[i] = (grad[i] ?? 0) * s;
    }
    const lr = o.lr * objective.warmup;
    adamwStep(weights, grad, adam, { ...ADAMW_DEFAULTS, lr });
    const decay = Math.min(o.emaDecay, (1 + header.step) / (10 + header.step));
    for (let i = 0; i < weights.length; i++) ema[i] = decay * (ema[i] ?? 0) + (1 - decay) * (weights[i] ?? 0);
    header.step += 1;
    header.losses.push(loss);
    o.onStep?.({ step: header.step, steps: o.steps, loss, stepMs: performance.now() - started });
    const stop = o.shouldStop?.() ?? false;
    if (header.step % o.checkpointEvery === 0 || header.step === o.steps || stop) checkpoint();
    if (stop) break;
  }
  if (header.step === 0 || header.step % o.checkpointEvery !== 0) checkpoint();
  await session.release();
  return {
    config,
    vocab,
    params,
    weights: paramViews(params, weights.slice()),
    ema: paramViews(params, ema.slice()),
    losses: header.losses,
    step: header.step,
    cpuSeconds: header.cpuSeconds,
    prediction: header.step > o.vPredictionFrom ? 'v_prediction' : 'epsilon',
  };
}
