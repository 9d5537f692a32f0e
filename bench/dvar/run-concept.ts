// One concept end to end: the recorded fixed-budget run, the identity curve at every sample check, each
// stopping rule's stop step, and a full quality score for each distinct step a rule kept (scores are cached by
// step, and every row is sampled with the same noise, so differences between rules are the rows' alone).

import type { AttributeClassifier } from '../../models/src/classifier/classifier.ts';
import { DVAR_DEFAULTS, type DvarParams } from '../../shared/dvar.ts';
import type { BenchConcept } from './concepts.ts';
import { describeConcept } from './concepts.ts';
import type { BenchConfig } from './config.ts';
import { conceptScorer, type QualityScore } from './quality.ts';
import { type RecordedRun, recordFixedBudgetRun } from './record-run.ts';
import { type ConceptResult, evalEveryMethod, type MethodInput, methodResult } from './results.ts';
import { median } from './stats.ts';
import { patienceStop, replayDvar } from './stop-rules.ts';
import type { CurvePoint } from './tune.ts';

export interface ConceptContext {
  readonly config: BenchConfig;
  readonly pipelineDir: string;
  readonly classifier: AttributeClassifier;
  readonly log: (line: string) => void;
}

export interface CurveRun {
  readonly run: RecordedRun;
  readonly curve: CurvePoint[];
  /** Median ms of one sample check. */
  readonly checkMs: number;
  readonly score: (step: number) => Promise<QualityScore>;
}

/** Train the fixed budget once and score identity at every check step (0, every, 2·every, …, cap). */
export async function recordWithCurve(concept: BenchConcept, ctx: ConceptContext): Promise<CurveRun> {
  const { config } = ctx;
  const started = performance.now();
  const run = await recordFixedBudgetRun(concept, {
    pipelineDir: ctx.pipelineDir,
    cap: config.cap,
    seed: config.trainSeed,
    learningRate: config.learningRate,
    ...(config.snrGamma === undefined ? {} : { snrGamma: config.snrGamma }),
    threads: config.threads,
  });
  ctx.log(
    `${concept.id} (${describeConcept(concept.concept)}): ${config.cap} steps in ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s (train ${run.trainMs.toFixed(1)} ms, eval ${run.evalMs.toFixed(1)} ms)`,
  );
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
    identityPrompts: config.checkPrompts,
    contextPerBackground: 0,
  });
  const full = await conceptScorer(concept.token, concept.images, {
    ...common,
    identityPrompts: config.identityPrompts,
    contextPerBackground: config.contextPerBackground,
  });
  const curve: CurvePoint[] = [];
  const checkTimes: number[] = [];
  for (let step = 0; step <= config.cap; step += config.sampleEvery) {
    const score = await check(run.rowAt(step), 'identity');
    checkTimes.push(score.ms);
    curve.push({ step, identity: score.identity });
  }
  if (curve[curve.length - 1]?.step !== config.cap) {
    const score = await check(run.rowAt(config.cap), 'identity');
    curve.push({ step: config.cap, identity: score.identity });
  }
  const cache = new Map<number, QualityScore>();
  return {
    run,
    curve,
    checkMs: median(checkTimes),
    async score(step) {
      const hit = cache.get(step);
      if (hit) return hit;
      const score = await full(run.rowAt(step));
      cache.set(step, score);
      return score;
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
  const paper = DVAR_DEFAULTS['textual-inversion'];
  dvar('dvar-paper', { window: paper.window, threshold: paper.threshold }, 1);
  for (const k of config.evalEveries) dvar(evalEveryMethod(k), rules.tuned, k);
  inputs.push({
    method: 'few-iterations',
    steps: rules.fewIterations,
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
        { steps: config.cap, identity: fixedQuality.identity, initialIdentity: initial.identity },
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
