// Tuning DVAR's window and threshold for this model on the tuning concepts only (never on held-out ones): for
// each grid point, replay DVAR over each tuning run and read the quality at its stop step off that run's
// identity curve (linear between sample checks). Keep the points whose every tuning concept retains `keep` of
// its fixed-budget identity, and take the one with the fewest median steps (ties: the larger window, safer).
import type { DvarParams } from '../../shared/dvar.ts';
import { median } from './stats.ts';
import { replayDvar } from './stop-rules.ts';

export interface CurvePoint {
  readonly step: number;
  readonly identity: number;
}

export interface TuningRun {
  readonly losses: readonly number[];
  readonly curve: readonly CurvePoint[];
  readonly cap: number;
}

export interface GridPoint extends DvarParams {
  readonly medianSteps: number;
  /** The worst tuning concept's identity at the stop / its identity at the cap. */
  readonly minRatio: number;
  readonly feasible: boolean;
}

/** The curve's value at `step` by linear interpolation (clamped to its ends). Curve steps must ascend. */
export function curveAt(curve: readonly CurvePoint[], step: number): number {
  const first = curve[0];
  const last = curve[curve.length - 1];
  if (!first || !last) throw new RangeError('empty curve');
  if (step <= first.step) return first.identity;
  if (step >= last.step) return last.identity;
  for (let i = 1; i < curve.length; i++) {
    const b = curve[i]!;
    if (step <= b.step) {
      const a = curve[i - 1]!;
      return a.identity + ((b.identity - a.identity) * (step - a.step)) / (b.step - a.step);
    }
  }
  return last.identity;
}

export function tuneDvar(
  runs: readonly TuningRun[],
  windows: readonly number[],
  thresholds: readonly number[],
  keep: number,
): { chosen: DvarParams; grid: GridPoint[] } {
  if (runs.length === 0) throw new RangeError('tuneDvar needs at least one tuning run');
  const grid: GridPoint[] = [];
  for (const window of windows) {
    for (const threshold of thresholds) {
      const stops = runs.map((run) => {
        const { steps } = replayDvar(run.losses, { window, threshold }, 1, run.cap);
        const atCap = curveAt(run.curve, run.cap);
        return { steps, ratio: curveAt(run.curve, steps) / atCap };
      });
      const minRatio = Math.min(...stops.map((s) => s.ratio));
      grid.push({
        window,
        threshold,
        medianSteps: median(stops.map((s) => s.steps)),
        minRatio,
        feasible: minRatio >= keep,
      });
    }
  }
  const feasible = grid.filter((g) => g.feasible);
  const pool = feasible.length > 0 ? feasible : [...grid].sort((a, b) => b.minRatio - a.minRatio).slice(0, 1);
  const best = [...pool].sort((a, b) => a.medianSteps - b.medianSteps || b.window - a.window)[0]!;
  return { chosen: { window: best.window, threshold: best.threshold }, grid };
}
