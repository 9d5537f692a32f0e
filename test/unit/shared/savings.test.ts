// The savings a report states: steps against the fixed budget, time at the run's own pace, and the cost line.
import type { LossSample } from '../../../shared/ports.ts';
import { computeSavings, formatSavings, secondsPerStep } from '../../../shared/savings.ts';

const paced = (count: number, msPerStep: number): LossSample[] =>
  Array.from({ length: count }, (_, step) => ({
    step,
    trainLoss: 1,
    lr: 1e-3,
    wallTimeMs: 1000 + step * msPerStep,
  }));

test('the pace comes from the first and last samples; under two samples there is none', () => {
  expect(secondsPerStep(paced(470, 200))).toBeCloseTo(0.2);
  expect(secondsPerStep(paced(1, 200))).toBeNull();
  expect(secondsPerStep([])).toBeNull();
});

test('a run stopped at step 469 of 6100 saves most of the time, start-up counted once', () => {
  // 470 steps at 0.2 s plus 20 s of start-up: 114 s paid. The 5630 untrained steps would take 1126 s more.
  const savings = computeSavings({
    stepsTrained: 470,
    budgetSteps: 6100,
    gpuSeconds: 114,
    samples: paced(470, 200),
  });
  expect(savings).toMatchObject({ stepsTrained: 470, budgetSteps: 6100, stepsSaved: 5630, gpuSeconds: 114 });
  expect(savings.fullBudgetGpuSeconds).toBeCloseTo(114 + 5630 * 0.2);
  expect(savings.savedFraction).toBeCloseTo(1 - 114 / 1240);
  expect(savings.savedFraction).toBeGreaterThan(0.9);
});

test('the saving does not depend on a price, and a run to the cap saves nothing', () => {
  const capped = computeSavings({
    stepsTrained: 100,
    budgetSteps: 100,
    gpuSeconds: 30,
    samples: paced(100, 250),
  });
  expect(capped.stepsSaved).toBe(0);
  expect(capped.savedFraction).toBeCloseTo(0);
  // Without a measured pace the paid time is scaled by budget / trained.
  const unpaced = computeSavings({ stepsTrained: 10, budgetSteps: 100, gpuSeconds: 5, samples: [] });
  expect(unpaced.fullBudgetGpuSeconds).toBeCloseTo(50);
  expect(unpaced.savedFraction).toBeCloseTo(0.9);
  // No GPU time recorded (no Batch attempt info): the fraction falls back to steps.
  expect(
    computeSavings({ stepsTrained: 10, budgetSteps: 100, gpuSeconds: 0, samples: [] }).savedFraction,
  ).toBeCloseTo(0.9);
  expect(
    computeSavings({ stepsTrained: 0, budgetSteps: 100, gpuSeconds: 3, samples: [] }).savedFraction,
  ).toBe(0);
});

test('the one-line summary states steps, the saved fraction, GPU-seconds and the estimated cost', () => {
  const savings = computeSavings({
    stepsTrained: 470,
    budgetSteps: 6100,
    gpuSeconds: 114,
    samples: paced(470, 200),
  });
  const line = formatSavings(savings, 1.006);
  expect(line).toContain('trained 470 of 6100 steps');
  expect(line).toContain('91% of training time saved');
  expect(line).toContain('114.0 GPU-s');
  expect(line).toMatch(/est\. \$0\.0319 vs \$0\.3465 at \$1\.006\/GPU-h/);
});
