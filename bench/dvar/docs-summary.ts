// The committed form of one method's benchmark, docs/benchmark/<method>.json: the same fields for every method —
// per rule the median speedup in steps and in time, identity ratio and alignment change against the fixed budget
// with their IQRs, plus the cap, the concepts and the settings. Pure: a view of runBenchmark's result.
import type { BenchmarkResult } from './benchmark.ts';
import type { Spread } from './stats.ts';

const iqr = (s: Spread): [number, number] => [s.q1, s.q3];

export function docsSummary(r: BenchmarkResult) {
  const fixed = (c: BenchmarkResult['concepts'][number]) => c.methods.find((m) => m.method === 'fixed');
  return {
    method: r.method,
    mode: r.mode,
    model: 'models/plateau-world-32',
    cap: r.config.cap,
    concepts: {
      tuning: r.tuning.concepts.map((c) => c.id),
      heldOut: r.concepts.map((c) => c.id),
      count: r.tuning.concepts.length + r.concepts.length,
    },
    settings: {
      learningRate: r.config.learningRate,
      tokenLearningRate: r.config.tokenLearningRate ?? null,
      snrGamma: r.config.snrGamma ?? null,
      trainSeed: r.config.trainSeed,
      paper: r.config.paper,
      tuned: r.tuning.chosen,
      tuneKeep: r.config.tuneKeep,
      fewIterations: r.config.fewIterations,
      sampleEvery: r.config.sampleEvery,
      patience: r.config.patience,
      evalEveries: r.config.evalEveries,
      identityPrompts: r.config.identityPrompts,
      samplerSteps: r.config.samplerSteps,
      ...(r.method === 'custom-diffusion' ? { classImages: r.config.classImages } : {}),
    },
    tuning: { stops: r.tuning.stops, concepts: r.tuning.concepts },
    rules: Object.fromEntries(
      r.summary.map((s) => [
        s.method,
        {
          median_steps: s.steps.median,
          iqr_steps: iqr(s.steps),
          median_speedup_steps: s.speedupSteps.median,
          iqr_speedup_steps: iqr(s.speedupSteps),
          median_speedup_time: s.speedupTime.median,
          iqr_speedup_time: iqr(s.speedupTime),
          median_identity_ratio: s.identityRatio.median,
          iqr_identity_ratio: iqr(s.identityRatio),
          median_alignment_change: s.alignmentChange.median,
          iqr_alignment_change: iqr(s.alignmentChange),
          median_overhead: s.overheadShare.median,
          never_stopped: s.neverStopped,
        },
      ]),
    ),
    evalEvery: {
      recommended: r.evalEvery.recommended,
      rows: r.evalEvery.rows.map((row) => ({
        evalEvery: row.evalEvery,
        median_stop_shift: row.stopShift.median,
        iqr_stop_shift: iqr(row.stopShift),
        median_identity_change: row.identityChange.median,
        median_overhead: row.overheadShare.median,
        median_speedup_time: row.speedupTime.median,
      })),
    },
    perConcept: r.concepts.map((c) => ({
      id: c.id,
      description: c.description,
      trainMs: c.costs.trainMs,
      evalMs: c.costs.evalMs,
      initialIdentity: c.initial.identity,
      fixedIdentity: fixed(c)?.quality.identity ?? null,
      fixedAlignment: fixed(c)?.quality.alignment ?? null,
      rules: Object.fromEntries(
        c.methods.map((m) => [
          m.method,
          { steps: m.steps, stopped: m.criterionStep !== null, identityRatio: m.identityRatio },
        ]),
      ),
    })),
    goal: r.goal,
    wallSeconds: r.wallSeconds,
  };
}
