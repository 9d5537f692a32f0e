// One method's benchmark: record the fixed budget once per concept, tune DVAR on the tuning concepts, then on the
// held-out concepts read every rule (fixed, DVAR at the paper's and the tuned settings at several evalEvery,
// few-iterations at the paper's count, sample-based) off that one run and score it. Returns the result object
// main.ts writes (results.json) and docs-summary.ts condenses (docs/benchmark/<method>.json).
import { benchConcepts, describeConcept } from './concepts.ts';
import { evalEveryTable, recommendEvalEvery, summarizeMethods } from './results.ts';
import { type ConceptContext, evaluateConcept, isRecorded, recordWithCurve } from './run-concept.ts';
import { replayDvar } from './stop-rules.ts';
import { tuneDvar } from './tune.ts';

/** The issue's goal per method: median speedup in steps at ≥ 97% identity, ≤ 10% evaluation overhead. */
export const GOAL_SPEEDUP = {
  'textual-inversion': 8,
  'dreambooth-lora': 2,
  'custom-diffusion': 2,
} as const;

/** Records (and caches) the runs and curves of the concepts named in `only`, nothing else: a worker's share. */
export async function recordConcepts(ctx: ConceptContext, only: readonly string[]): Promise<void> {
  const { config } = ctx;
  const all = [
    ...benchConcepts('tuning', config.tuningConcepts, config.seed, config.imagesPerConcept),
    ...benchConcepts('held-out', config.heldOutConcepts, config.seed, config.imagesPerConcept),
  ];
  for (const concept of all.filter((c) => only.includes(c.id))) {
    await (await recordWithCurve(concept, ctx)).release();
  }
}

/** `recordedOnly`: evaluate only the held-out concepts whose runs are already cached (a partial run's results). */
export async function runBenchmark(ctx: ConceptContext, recordedOnly = false) {
  const { config, log } = ctx;
  const started = performance.now();
  log(
    `${config.method} (${config.mode}): model ${ctx.pipelineDir}, cap ${config.cap} steps, lr ${config.learningRate}`,
  );
  const tuningConcepts = benchConcepts('tuning', config.tuningConcepts, config.seed, config.imagesPerConcept);
  const tuningRuns = [];
  for (const concept of tuningConcepts) {
    const recorded = await recordWithCurve(concept, ctx);
    await recorded.release();
    tuningRuns.push({ concept, recorded });
  }
  const tuning = tuneDvar(
    tuningRuns.map(({ recorded }) => ({
      losses: recorded.run.losses,
      curve: recorded.curve,
      cap: config.cap,
    })),
    config.tuneWindows.filter((w) => w < config.cap),
    config.tuneThresholds,
    config.tuneKeep,
  );
  const tunedStops = tuningRuns.map(
    ({ recorded }) => replayDvar(recorded.run.losses, tuning.chosen, 1, config.cap).steps,
  );
  log(
    `tuned DVAR: window ${tuning.chosen.window}, threshold ${tuning.chosen.threshold} ` +
      `(tuning stops ${tunedStops.join(', ')}); few-iterations ${config.fewIterations} steps`,
  );

  const heldOut = [];
  for (const concept of benchConcepts(
    'held-out',
    config.heldOutConcepts,
    config.seed,
    config.imagesPerConcept,
  )) {
    if (!recordedOnly || (await isRecorded(concept, ctx))) heldOut.push(concept);
  }
  if (heldOut.length < config.heldOutConcepts) {
    log(`evaluating the ${heldOut.length} of ${config.heldOutConcepts} held-out concepts already recorded`);
  }
  const concepts = [];
  for (const concept of heldOut) {
    const recorded = await recordWithCurve(concept, ctx);
    concepts.push(
      await evaluateConcept(
        concept,
        recorded,
        { tuned: tuning.chosen, fewIterations: config.fewIterations },
        ctx,
      ),
    );
  }

  const summary = summarizeMethods(concepts);
  const evalEvery = evalEveryTable(concepts, config.evalEveries);
  const recommended = recommendEvalEvery(evalEvery);
  const tuned = summary.find((s) => s.method === `dvar-tuned${recommended === 1 ? '' : `-k${recommended}`}`);
  const goalSpeedup = GOAL_SPEEDUP[config.method];
  return {
    benchmark: 'dvar',
    method: config.method,
    mode: config.mode,
    model: ctx.pipelineDir,
    config,
    tuning: {
      concepts: tuningConcepts.map((c) => ({ id: c.id, description: describeConcept(c.concept) })),
      chosen: tuning.chosen,
      stops: tunedStops,
      // Each tuning concept's identity curve and the losses' length: what the grid was read from.
      curves: tuningRuns.map(({ concept, recorded }) => ({ id: concept.id, curve: recorded.curve })),
      fewIterations: config.fewIterations,
      grid: tuning.grid,
    },
    concepts,
    summary,
    evalEvery: { rows: evalEvery, recommended },
    goal: {
      speedupSteps: goalSpeedup,
      medianSpeedupSteps: tuned?.speedupSteps.median ?? null,
      medianIdentityRatio: tuned?.identityRatio.median ?? null,
      medianOverheadShare: tuned?.overheadShare.median ?? null,
      met:
        tuned !== undefined &&
        tuned.speedupSteps.median >= goalSpeedup &&
        tuned.identityRatio.median >= 0.97 &&
        tuned.overheadShare.median <= 0.1,
    },
    wallSeconds: (performance.now() - started) / 1000,
  };
}

export type BenchmarkResult = Awaited<ReturnType<typeof runBenchmark>>;
