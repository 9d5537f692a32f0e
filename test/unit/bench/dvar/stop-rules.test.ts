// The replayed stopping rules: DVAR over a recorded history (evalEvery subsampling, window in steps) and the
// sample-based patience rule.

import { patienceStop, replayDvar, windowInSamples } from '../../../../bench/dvar/stop-rules.ts';
import { DvarTracker } from '../../../../shared/dvar.ts';

/** A loss that falls exponentially and then sits on a small deterministic wiggle. */
function curve(n: number): number[] {
  return Array.from({ length: n }, (_, s) => 1 + 4 * Math.exp(-s / 40) + 0.01 * Math.sin(s * 1.7));
}

describe('replayDvar', () => {
  it('stops exactly where an in-process tracker fed one loss per step stops', () => {
    const losses = curve(1000);
    const params = { window: 50, threshold: 0.15 };
    const tracker = new DvarTracker(params);
    let expected = -1;
    for (let s = 0; s < losses.length; s++) {
      if (tracker.push(losses[s]!).holds) {
        expected = s;
        break;
      }
    }
    expect(expected).toBeGreaterThan(50);
    const replay = replayDvar(losses, params, 1, 1000);
    expect(replay).toEqual({ criterionStep: expected, steps: expected + 1, evaluations: expected + 1 });
  });

  it('with evalEvery k, feeds every k-th loss with a window of W/k samples and maps back to steps', () => {
    const losses = curve(1000);
    const k = 4;
    const sampled = losses.filter((_, s) => s % k === 0);
    const tracker = new DvarTracker({ window: windowInSamples(50, k), threshold: 0.15 });
    let index = -1;
    for (let i = 0; i < sampled.length; i++) {
      if (tracker.push(sampled[i]!).holds) {
        index = i;
        break;
      }
    }
    const replay = replayDvar(losses, { window: 50, threshold: 0.15 }, k, 1000);
    expect(replay.criterionStep).toBe(index * k);
    expect(replay.steps).toBe(index * k + 1);
    expect(replay.evaluations).toBe(index + 1);
  });

  it('runs to the cap when the criterion never holds within it', () => {
    const losses = curve(1000);
    expect(replayDvar(losses, { window: 50, threshold: 0.15 }, 1, 60)).toEqual({
      criterionStep: null,
      steps: 60,
      evaluations: 60,
    });
    expect(replayDvar(losses, { window: 50, threshold: 1e-9 }, 8, 1000).evaluations).toBe(125);
  });

  it('keeps at least two samples in a window', () => {
    expect(windowInSamples(310, 8)).toBe(39);
    expect(windowInSamples(10, 8)).toBe(2);
    expect(() => replayDvar([1, 2], { window: 2, threshold: 0.1 }, 0, 2)).toThrow(/evalEvery/);
  });
});

describe('patienceStop', () => {
  it('stops after `patience` checks without beating the best', () => {
    expect(patienceStop([0.1, 0.3, 0.5, 0.4, 0.45, 0.5, 0.2], 3)).toEqual({ stopIndex: 5, bestIndex: 2 });
  });

  it('restarts the count on every improvement and runs to the end when patience never runs out', () => {
    expect(patienceStop([0.1, 0.2, 0.1, 0.3, 0.2, 0.4], 2)).toEqual({ stopIndex: null, bestIndex: 5 });
  });

  it('counts gains below minDelta as no gain', () => {
    expect(patienceStop([0.5, 0.505, 0.509], 2, 0.01)).toEqual({ stopIndex: 2, bestIndex: 0 });
    expect(() => patienceStop([1], 0)).toThrow(/patience/);
    expect(() => patienceStop([], 1)).toThrow(/at least one/);
  });
});
