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
 * Steps per second over the most recent `span` samples (wall time between the first and last of them), or
 * undefined with fewer than two samples or no elapsed time. Recent samples track the current speed, so a
 * slow first step (graph building, warm-up) does not skew it.
 */
export function observedStepRate(samples: readonly LossSample[], span = 50): number | undefined {
  const recent = samples.slice(-span);
  const first = recent[0];
  const last = recent[recent.length - 1];
  if (!first || !last || last.step <= first.step) return undefined;
  const seconds = (last.wallTimeMs - first.wallTimeMs) / 1000;
  if (!(seconds > 0)) return undefined;
  return (last.step - first.step) / seconds;
}
