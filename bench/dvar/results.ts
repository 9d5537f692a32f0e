// The benchmark's result shapes and the pure arithmetic over them: per-method figures from a stop step and the
// measured step costs, medians with IQR across concepts, and the evalEvery trade-off with its recommendation.
import { type Spread, spread } from './stats.ts';

export interface Quality {
  readonly identity: number;
  readonly alignment: number;
  readonly contextIdentity: number;
}

export interface MethodResult {
  readonly method: string;
  /** Steps trained. */
  readonly steps: number;
  /** The step at which the rule decided to stop; null when it never did (ran to the cap). */
  readonly criterionStep: number | null;
  /** Deterministic evaluations (DVAR) or sample checks (sample-based) made. */
  readonly evaluations: number;
  /** Estimated wall seconds on this machine: steps × step time + evaluations × evaluation time. */
  readonly seconds: number;
  /** seconds at the on-demand GPU-hour price (the same arithmetic as report.json's cost). */
  readonly costUsd: number;
  /** Evaluation time / training time (the criterion's own cost). */
  readonly overheadShare: number;
  readonly speedupSteps: number;
  readonly speedupTime: number;
  readonly quality: Quality;
  /** quality.identity / the fixed budget's identity. */
  readonly identityRatio: number;
  /** quality.alignment − the fixed budget's alignment (a share, so a difference: the fixed one may be 0). */
  readonly alignmentChange: number;
  /**
   * Share of the fixed budget's identity gain over the initializer kept: (identity − initial) / (fixed − initial).
   * Stricter than identityRatio where the initializer word alone already looks much like the concept.
   */
  readonly gainKept: number;
}

export interface StepCosts {
  /** Training step (loss + gradient + AdamW), ms. */
  readonly trainMs: number;
  /** One deterministic evaluation (forward pass of the eval batch), ms. */
  readonly evalMs: number;
  /** One sample-based quality check, ms. */
  readonly checkMs: number;
}

export interface MethodInput {
  readonly method: string;
  readonly steps: number;
  readonly criterionStep: number | null;
  readonly evaluations: number;
  readonly evaluation: 'none' | 'dvar' | 'samples';
  readonly quality: Quality;
}

export const GPU_HOUR_PRICE_USD = 1.006;

/** (identity − initial) / (fixed − initial); 1 when the fixed budget gained nothing (nothing to lose). */
export function gainKept(identity: number, initial: number, fixed: number): number {
  const gain = fixed - initial;
  return Math.abs(gain) < 1e-9 ? 1 : (identity - initial) / gain;
}

export function methodResult(
  input: MethodInput,
  costs: StepCosts,
  fixed: {
    readonly steps: number;
    readonly identity: number;
    readonly initialIdentity: number;
    readonly alignment?: number;
  },
): MethodResult {
  const trainSeconds = (input.steps * costs.trainMs) / 1000;
  const perEvaluation =
    input.evaluation === 'dvar' ? costs.evalMs : input.evaluation === 'samples' ? costs.checkMs : 0;
  const evalSeconds = (input.evaluations * perEvaluation) / 1000;
  const seconds = trainSeconds + evalSeconds;
  const fixedSeconds = (fixed.steps * costs.trainMs) / 1000;
  return {
    method: input.method,
    steps: input.steps,
    criterionStep: input.criterionStep,
    evaluations: input.evaluations,
    seconds,
    costUsd: (seconds / 3600) * GPU_HOUR_PRICE_USD,
    overheadShare: trainSeconds > 0 ? evalSeconds / trainSeconds : 0,
    speedupSteps: fixed.steps / input.steps,
    speedupTime: fixedSeconds / seconds,
    quality: input.quality,
    identityRatio: input.quality.identity / fixed.identity,
    alignmentChange: input.quality.alignment - (fixed.alignment ?? input.quality.alignment),
    gainKept: gainKept(input.quality.identity, fixed.initialIdentity, fixed.identity),
  };
}

export interface ConceptResult {
  readonly id: string;
  readonly description: string;
  readonly cap: number;
  readonly costs: StepCosts;
  readonly recordSeconds: number;
  /** Quality of the initializer word's row (step 0): what the token starts from. */
  readonly initial: Quality;
  readonly methods: readonly MethodResult[];
  /** Identity score at every sample check (the sample-based rule's input and the chart's curve). */
  readonly curve: readonly { readonly step: number; readonly identity: number }[];
}

export interface MethodSummary {
  readonly method: string;
  readonly steps: Spread;
  readonly speedupSteps: Spread;
  readonly speedupTime: Spread;
  readonly seconds: Spread;
  readonly costUsd: Spread;
  readonly overheadShare: Spread;
  readonly identity: Spread;
  readonly identityRatio: Spread;
  readonly alignmentChange: Spread;
  readonly gainKept: Spread;
  readonly alignment: Spread;
  readonly contextIdentity: Spread;
  /** Concepts on which the rule never fired (ran to the cap). */
  readonly neverStopped: number;
}

export function summarizeMethods(concepts: readonly ConceptResult[]): MethodSummary[] {
  const names = [...new Set(concepts.flatMap((c) => c.methods.map((m) => m.method)))];
  return names.map((method) => {
    const runs = concepts.flatMap((c) => c.methods.filter((m) => m.method === method));
    const of = (f: (m: MethodResult) => number) => spread(runs.map(f));
    return {
      method,
      steps: of((m) => m.steps),
      speedupSteps: of((m) => m.speedupSteps),
      speedupTime: of((m) => m.speedupTime),
      seconds: of((m) => m.seconds),
      costUsd: of((m) => m.costUsd),
      overheadShare: of((m) => m.overheadShare),
      identity: of((m) => m.quality.identity),
      identityRatio: of((m) => m.identityRatio),
      alignmentChange: of((m) => m.alignmentChange),
      gainKept: of((m) => m.gainKept),
      alignment: of((m) => m.quality.alignment),
      contextIdentity: of((m) => m.quality.contextIdentity),
      neverStopped: runs.filter((m) => m.criterionStep === null).length,
    };
  });
}

export interface EvalEveryRow {
  readonly evalEvery: number;
  readonly method: string;
  /** Median over concepts of (stop step at k) − (stop step at k = 1). */
  readonly stopShift: Spread;
  /** Median over concepts of identity(k) / identity(k = 1) − 1. */
  readonly identityChange: Spread;
  readonly overheadShare: Spread;
  readonly speedupTime: Spread;
}

export const evalEveryMethod = (k: number) => (k === 1 ? 'dvar-tuned' : `dvar-tuned-k${k}`);

export function evalEveryTable(concepts: readonly ConceptResult[], ks: readonly number[]): EvalEveryRow[] {
  return ks.map((k) => {
    const pairs = concepts.map((c) => {
      const base = c.methods.find((m) => m.method === evalEveryMethod(1));
      const at = c.methods.find((m) => m.method === evalEveryMethod(k));
      if (!base || !at) throw new Error(`concept ${c.id} lacks ${evalEveryMethod(k)} or its k = 1 baseline`);
      return { base, at };
    });
    return {
      evalEvery: k,
      method: evalEveryMethod(k),
      stopShift: spread(pairs.map((p) => p.at.steps - p.base.steps)),
      identityChange: spread(pairs.map((p) => p.at.quality.identity / p.base.quality.identity - 1)),
      overheadShare: spread(pairs.map((p) => p.at.overheadShare)),
      speedupTime: spread(pairs.map((p) => p.at.speedupTime)),
    };
  });
}

/**
 * The recommended evalEvery: the smallest k whose median overhead is within `maxOverhead` of training time and
 * whose median identity change against k = 1 is no worse than −`maxLoss`; the largest k tried when none is.
 */
export function recommendEvalEvery(rows: readonly EvalEveryRow[], maxOverhead = 0.1, maxLoss = 0.01): number {
  const fit = rows.find((r) => r.overheadShare.median <= maxOverhead && r.identityChange.median >= -maxLoss);
  if (fit) return fit.evalEvery;
  const last = rows[rows.length - 1];
  if (!last) throw new Error('no evalEvery rows');
  return last.evalEvery;
}
