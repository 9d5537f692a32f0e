// Loss samples as stored and read back: the zod schema at the storage edge, the reader port the monitor uses,
// and the small pure helpers over a job's samples (DVAR history, observed step rate).
import { z } from 'zod';
import type { LossSample } from './ports.ts';

export const LossSampleSchema = z.object({
  step: z.number().int().nonnegative(),
  detLoss: z.number().optional(),
  trainLoss: z.number(),
  lr: z.number(),
  wallTimeMs: z.number(),
});

/** Reads a job's samples back, in step order, one per step. */
export interface SampleReader {
  read(jobId: string): Promise<LossSample[]>;
  /** Only the samples after `afterStep` (a small query for a monitor that polls; optional). */
  readAfter?(jobId: string, afterStep: number): Promise<LossSample[]>;
}

/** Sorts by step and keeps the last sample written for each step (a rewrite after resume wins). */
export function normalizeSamples(samples: readonly LossSample[]): LossSample[] {
  const byStep = new Map<number, LossSample>();
  for (const sample of samples) byStep.set(sample.step, sample);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

/** DVAR's input: the deterministic losses in step order, with the step each one was measured at. */
export function detLossHistory(samples: readonly LossSample[]): { values: number[]; steps: number[] } {
  const values: number[] = [];
  const steps: number[] = [];
  for (const sample of samples) {
    if (sample.detLoss === undefined) continue;
    values.push(sample.detLoss);
    steps.push(sample.step);
  }
  return { values, steps };
}

/**
 * Steps per second from the most recent `span` samples: the median of the per-step intervals between
 * consecutive samples, so one long gap (warm-up, a Spot reclaim and resume, a slow flush) does not skew it.
 * Undefined with fewer than two samples or no elapsed time.
 */
export function observedStepRate(samples: readonly LossSample[], span = 50): number | undefined {
  const recent = samples.slice(-span);
  const perStepMs: number[] = [];
  for (let i = 1; i < recent.length; i++) {
    const a = recent[i - 1]!;
    const b = recent[i]!;
    if (b.step > a.step) perStepMs.push((b.wallTimeMs - a.wallTimeMs) / (b.step - a.step));
  }
  if (perStepMs.length === 0) return undefined;
  perStepMs.sort((x, y) => x - y);
  const mid = perStepMs.length >> 1;
  const median = perStepMs.length % 2 ? perStepMs[mid]! : (perStepMs[mid - 1]! + perStepMs[mid]!) / 2;
  return median > 0 ? 1000 / median : undefined;
}
