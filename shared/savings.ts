// What stopping early saved: steps trained against the method's fixed budget, the training time that budget
// would have taken at this run's own pace, and the cost of both at an hourly GPU price (an estimate).
import type { LossSample } from './ports.ts';

/**
 * Default GPU-hour prices in USD: AWS g5.xlarge in us-east-1, the stack's default instance type. Estimates for
 * the report; the stack takes `-c gpuHourPriceUsd=…`, `plateau run`/`start` take `--gpu-hour-price`.
 */
export const DEFAULT_GPU_HOUR_PRICE_USD = { onDemand: 1.006, spot: 0.45 } as const;

export interface Savings {
  readonly stepsTrained: number;
  /** The method's fixed budget (the manifest's maxSteps). */
  readonly budgetSteps: number;
  /** budgetSteps − stepsTrained (0 when the run went to the cap). */
  readonly stepsSaved: number;
  /** Trainer time paid for (every attempt; start-up included). */
  readonly gpuSeconds: number;
  /** The same job trained to budgetSteps: gpuSeconds plus the untrained steps at this run's seconds per step. */
  readonly fullBudgetGpuSeconds: number;
  /** 1 − gpuSeconds / fullBudgetGpuSeconds: the fraction of training time (and cost) saved. */
  readonly savedFraction: number;
  /** Seconds per training step measured from the samples' wall times; null when under two samples. */
  readonly secondsPerStep: number | null;
}

/** Seconds per step from the samples' wall-clock times (first to last stored sample). */
export function secondsPerStep(samples: readonly LossSample[]): number | null {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || last.step <= first.step) return null;
  return (last.wallTimeMs - first.wallTimeMs) / 1000 / (last.step - first.step);
}

/**
 * Savings of a run that trained `stepsTrained` of `budgetSteps`. The untrained steps are priced at the measured
 * pace, so start-up (model load, graph build) counts once, as it would in the full run. Without a pace, the
 * paid time is scaled by budget / trained.
 */
export function computeSavings(input: {
  readonly stepsTrained: number;
  readonly budgetSteps: number;
  readonly gpuSeconds: number;
  readonly samples: readonly LossSample[];
}): Savings {
  const { stepsTrained, budgetSteps, gpuSeconds } = input;
  const stepsSaved = Math.max(0, budgetSteps - stepsTrained);
  const pace = secondsPerStep(input.samples);
  let fullBudgetGpuSeconds: number;
  if (stepsTrained === 0) fullBudgetGpuSeconds = gpuSeconds;
  else if (pace !== null) fullBudgetGpuSeconds = gpuSeconds + stepsSaved * pace;
  else fullBudgetGpuSeconds = (gpuSeconds * Math.max(budgetSteps, stepsTrained)) / stepsTrained;
  const savedFraction =
    fullBudgetGpuSeconds > 0
      ? 1 - gpuSeconds / fullBudgetGpuSeconds
      : stepsTrained > 0
        ? stepsSaved / budgetSteps
        : 0;
  return {
    stepsTrained,
    budgetSteps,
    stepsSaved,
    gpuSeconds,
    fullBudgetGpuSeconds,
    savedFraction,
    secondsPerStep: pace,
  };
}

/** Cost in USD of `seconds` of GPU time at an hourly price. */
export const gpuCostUsd = (seconds: number, hourPriceUsd: number): number => (seconds / 3600) * hourPriceUsd;

/** report.json's `cost`: the run and the full budget priced at `hourPriceUsd`, with a note on what it is. */
export function costEstimate(savings: Savings, hourPriceUsd: number, note: string) {
  return {
    gpuHourPriceUsd: hourPriceUsd,
    estimatedUsd: gpuCostUsd(savings.gpuSeconds, hourPriceUsd),
    fullBudgetUsd: gpuCostUsd(savings.fullBudgetGpuSeconds, hourPriceUsd),
    savedFraction: savings.savedFraction,
    note,
  };
}

/** One line for progress views and summaries, e.g. "stopped at step 469 of 6100: 92% of training time saved …". */
export function formatSavings(savings: Savings, hourPriceUsd: number): string {
  const pct = `${Math.round(savings.savedFraction * 100)}%`;
  const usd = (seconds: number) => `$${gpuCostUsd(seconds, hourPriceUsd).toFixed(4)}`;
  return (
    `trained ${savings.stepsTrained} of ${savings.budgetSteps} steps: ${pct} of training time saved ` +
    `(${savings.gpuSeconds.toFixed(1)} GPU-s instead of ~${savings.fullBudgetGpuSeconds.toFixed(0)}; ` +
    `est. ${usd(savings.gpuSeconds)} vs ${usd(savings.fullBudgetGpuSeconds)} at $${hourPriceUsd}/GPU-h)`
  );
}
