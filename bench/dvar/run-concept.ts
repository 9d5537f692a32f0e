// One concept end to end: the recorded fixed-budget run (cached on disk: one run serves every rule), the
// identity curve at every sample check, each stopping rule's stop step, and a full quality score for each distinct
// step a rule kept (scores are cached by step, and every step's weights are sampled with the same noise, so
// differences between rules are the weights' alone).

import type { AttributeClassifier } from '../../models/src/classifier/classifier.ts';
import type { DvarParams } from '../../shared/dvar.ts';
import type { PixelImage } from '../../trainer-image/src/train/batches.ts';
import { type MethodConfig, methodFor } from '../../trainer-image/src/train/methods/index.ts';
import type { BenchConcept } from './concepts.ts';
import { describeConcept } from './concepts.ts';
import type { BenchConfig } from './config.ts';
import { conceptScorer, type QualityScore } from './quality.ts';
import {
  hasRecord,
  loadCurve,
  loadRecord,
  loadScores,
  saveCurve,
  saveRecord,
  saveScores,
} from './record-cache.ts';
import { type RecordedRun, recordFixedBudgetRun, unpackParams } from './record-run.ts';
import { type ConceptResult, evalEveryMethod, type MethodInput, methodResult } from './results.ts';
import { median } from './stats.ts';
import { patienceStop, replayDvar } from './stop-rules.ts';
import type { CurvePoint } from './tune.ts';

export interface ConceptContext {
  readonly config: BenchConfig;
  readonly pipelineDir: string;
  readonly classifier: AttributeClassifier;
  readonly log: (line: string) => void;
  /** Folder of recorded runs (record-cache.ts); absent = record every run afresh. */
  readonly cacheDir?: string;
  /** Identifies the base model's weights in the cache key (a hash of its files' sizes and times). */
  readonly modelStamp: string;
  /** The method's settings for a concept (Custom Diffusion's class word is the concept's shape). */
  readonly methodConfig: (concept: BenchConcept) => MethodConfig;
  /** Prior-preservation class images for a concept; absent = none. */
  readonly classImages?: (concept: BenchConcept) => Promise<readonly PixelImage[]>;
}

export interface CurveRun {
  readonly run: RecordedRun;
  readonly curve: CurvePoint[];
  /** Median ms of one sample check. */
  readonly checkMs: number;
  readonly score: (step: number) => Promise<QualityScore>;
  /** Releases the run's kept samplers. */
  release(): Promise<void>;
}

/** The run's settings and its cache key (Custom Diffusion's class images are drawn or read here). */
async function runSetup(concept: BenchConcept, ctx: ConceptContext) {
  const { config } = ctx;
  const method = ctx.methodConfig(concept);
  const classImages = ctx.classImages ? await ctx.classImages(concept) : undefined;
  const options = {
    pipelineDir: ctx.pipelineDir,
    method,
    ...(classImages && classImages.length > 0 ? { classImages } : {}),
    cap: config.cap,
    seed: config.trainSeed,
    learningRate: config.learningRate,
    ...(config.tokenLearningRate === undefined ? {} : { tokenLearningRate: config.tokenLearningRate }),
    ...(config.snrGamma === undefined ? {} : { snrGamma: config.snrGamma }),
    threads: config.threads,
  };
  const key = {
    concept: concept.id,
    description: describeConcept(concept.concept),
    model: ctx.modelStamp,
    ...options,
    classImages: classImages?.length ?? 0,
  };
  // How the prompts name the concept: "<token>", or Custom Diffusion's "<token> <class word>".
  const subject = methodFor(method).promptSubject?.(concept.token) ?? concept.token;
  // What the identity curve depends on beyond the run.
  const curveSettings = {
    subject,
    every: config.sampleEvery,
    prompts: config.checkPrompts,
    samplerSteps: config.samplerSteps,
    guidance: config.guidance,
    seed: config.seed,
  };
  return { method, options, key, curveSettings, subject };
}

/** Whether the concept's run and identity curve are both in the cache (nothing left to train or sample). */
export async function isRecorded(concept: BenchConcept, ctx: ConceptContext): Promise<boolean> {
  if (!ctx.cacheDir) return false;
  const { key, curveSettings } = await runSetup(concept, ctx);
  return hasRecord(ctx.cacheDir, key) && loadCurve(ctx.cacheDir, key, curveSettings) !== undefined;
}

/** Train the fixed budget once (or read it from the cache) and score identity at every check step. */
export async function recordWithCurve(concept: BenchConcept, ctx: ConceptContext): Promise<CurveRun> {
  const { config } = ctx;
  const { method, options, key, curveSettings, subject } = await runSetup(concept, ctx);
  const started = performance.now();
  const cached = ctx.cacheDir ? loadRecord(ctx.cacheDir, key) : undefined;
  let run: RecordedRun;
  if (cached) {
    run = cached;
    ctx.log(`${concept.id} (${describeConcept(concept.concept)}): ${config.cap} steps read from the cache`);
  } else {
    run = await recordFixedBudgetRun(concept, options);
    if (ctx.cacheDir) saveRecord(ctx.cacheDir, key, run);
    ctx.log(
      `${concept.id} (${describeConcept(concept.concept)}): ${config.cap} steps in ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s (train ${run.trainMs.toFixed(1)} ms, eval ${run.evalMs.toFixed(1)} ms)`,
    );
  }
  const common = {
    pipelineDir: ctx.pipelineDir,
    classifier: ctx.classifier,
    samplerSteps: config.samplerSteps,
    guidance: config.guidance,
    seed: config.seed,
    threads: config.threads,
  };
  const check = await conceptScorer(concept.token, concept.images, {
    ...common,
    reuseSampler: true,
    subject,
    identityPrompts: config.checkPrompts,
    contextPerBackground: 0,
  });
  const full = await conceptScorer(concept.token, concept.images, {
    ...common,
    reuseSampler: true,
    subject,
    identityPrompts: config.identityPrompts,
    contextPerBackground: config.contextPerBackground,
  });
  // The weights after `step` updates as the sampler takes them: the token row, and the method's UNet tensors.
  // One buffer the kept samplers read by reference: each score copies its step's weights into it first.
  const surgery = methodFor(method).unetSurgery;
  const live = new Float32Array(run.paramsAt(0).length);
  const { rows: liveRows, tensors: liveTensors } = unpackParams(live, run.hiddenSize, run.methodTensors);
  const liveUnet = surgery ? { surgery, tensors: liveTensors } : undefined;
  const learned = (step: number) => {
    live.set(run.paramsAt(step));
    return { rows: liveRows, unet: liveUnet };
  };
  const cachedCurve = ctx.cacheDir ? loadCurve(ctx.cacheDir, key, curveSettings) : undefined;
  const curve: CurvePoint[] = cachedCurve ? [...cachedCurve.curve] : [];
  const checkTimes: number[] = cachedCurve ? [cachedCurve.checkMs] : [];
  const checkAt = async (step: number) => {
    const { rows, unet } = learned(step);
    const score = await check(rows, 'identity', unet);
    checkTimes.push(score.ms);
    curve.push({ step, identity: score.identity });
  };
  if (!cachedCurve) {
    const started = performance.now();
    for (let step = 0; step <= config.cap; step += config.sampleEvery) await checkAt(step);
    if (curve[curve.length - 1]?.step !== config.cap) await checkAt(config.cap);
    if (ctx.cacheDir) saveCurve(ctx.cacheDir, key, curveSettings, { curve, checkMs: median(checkTimes) });
    ctx.log(
      `${concept.id}: ${curve.length} identity checks in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  const cache = new Map<number, QualityScore>();
  // Full scores are cached on disk too, so a rerun (or a preview on part of the concepts) re-samples nothing.
  const scoreSettings = {
    subject,
    identityPrompts: config.identityPrompts,
    contextPerBackground: config.contextPerBackground,
    samplerSteps: config.samplerSteps,
    guidance: config.guidance,
    seed: config.seed,
  };
  const stored = ctx.cacheDir ? loadScores(ctx.cacheDir, key, scoreSettings) : {};
  for (const [step, score] of Object.entries(stored)) cache.set(Number(step), score);
  return {
    run,
    curve,
    checkMs: median(checkTimes),
    async score(step) {
      const hit = cache.get(step);
      if (hit) return hit;
      const { rows, unet } = learned(step);
      const score = await full(rows, 'full', unet);
      cache.set(step, score);
      if (ctx.cacheDir) saveScores(ctx.cacheDir, key, scoreSettings, Object.fromEntries(cache));
      return score;
    },
    async release() {
      await Promise.all([check.release(), full.release()]);
    },
  };
}

export interface Rules {
  readonly tuned: DvarParams;
  readonly fewIterations: number;
}

export async function evaluateConcept(
  concept: BenchConcept,
  recorded: CurveRun,
  rules: Rules,
  ctx: ConceptContext,
): Promise<ConceptResult> {
  const { config } = ctx;
  const { run, curve } = recorded;
  const inputs: Omit<MethodInput, 'quality'>[] = [
    { method: 'fixed', steps: config.cap, criterionStep: null, evaluations: 0, evaluation: 'none' },
  ];
  const dvar = (method: string, params: DvarParams, k: number) => {
    const r = replayDvar(run.losses, params, k, config.cap);
    inputs.push({
      method,
      steps: r.steps,
      criterionStep: r.criterionStep,
      evaluations: r.evaluations,
      evaluation: 'dvar',
    });
  };
  dvar('dvar-paper', config.paper, 1);
  for (const k of config.evalEveries) dvar(evalEveryMethod(k), rules.tuned, k);
  inputs.push({
    method: 'few-iterations',
    steps: Math.min(rules.fewIterations, config.cap),
    criterionStep: null,
    evaluations: 0,
    evaluation: 'none',
  });
  const sample = patienceStop(
    curve.map((p) => p.identity),
    config.patience,
  );
  const sampleStop = sample.stopIndex === null ? null : curve[sample.stopIndex]!.step;
  inputs.push({
    method: 'sample-based',
    steps: sampleStop ?? config.cap,
    criterionStep: sampleStop,
    evaluations: sample.stopIndex === null ? curve.length : sample.stopIndex + 1,
    evaluation: 'samples',
  });

  const fixedQuality = await recorded.score(config.cap);
  const initial = await recorded.score(0);
  const costs = { trainMs: run.trainMs, evalMs: run.evalMs, checkMs: recorded.checkMs };
  const methods = [];
  for (const input of inputs) {
    const q = await recorded.score(input.steps);
    methods.push(
      methodResult(
        {
          ...input,
          quality: { identity: q.identity, alignment: q.alignment, contextIdentity: q.contextIdentity },
        },
        costs,
        {
          steps: config.cap,
          identity: fixedQuality.identity,
          initialIdentity: initial.identity,
          alignment: fixedQuality.alignment,
        },
      ),
    );
  }
  const line = methods.map((m) => `${m.method} ${m.steps} (${m.identityRatio.toFixed(3)})`).join(', ');
  ctx.log(`${concept.id}: ${line}`);
  return {
    id: concept.id,
    description: describeConcept(concept.concept),
    cap: config.cap,
    costs,
    recordSeconds: run.wallMs / 1000,
    initial: {
      identity: initial.identity,
      alignment: initial.alignment,
      contextIdentity: initial.contextIdentity,
    },
    methods,
    curve,
  };
}
