// loss.svg rendering: well-formed for empty and long runs, marker only with a criterion step, bounded size.
import { renderLossChart } from '../../../../functions/finalize/loss-chart.ts';
import type { LossSample } from '../../../../shared/ports.ts';

const run = (n: number): LossSample[] =>
  Array.from({ length: n }, (_, step) => ({
    step,
    detLoss: 1 / (step + 1),
    trainLoss: 0.5,
    lr: 0.01,
    wallTimeMs: step,
  }));

test('an empty run still renders a valid chart without a stop marker', () => {
  const svg = renderLossChart({ samples: [], window: 10, threshold: 0.15, title: 't' });
  expect(svg).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
  expect(svg).not.toContain('stop-marker');
  expect(svg).not.toContain('NaN');
});

test('a 6100-step run is thinned to a bounded size and keeps its last point', () => {
  const svg = renderLossChart({
    samples: run(6100),
    window: 310,
    threshold: 0.15,
    criterionStep: 5000,
    title: 't',
  });
  expect(svg.length).toBeLessThan(200_000);
  expect(svg).toContain('stop @ 5000');
  expect(svg).toContain('step 6099');
  const det = /id="det-loss" d="([^"]*)"/.exec(svg)?.[1] ?? '';
  expect(det.split('L').length).toBeLessThanOrEqual(1602);
  expect(det.endsWith('740.0 360.0')).toBe(true);
  expect(svg).not.toContain('NaN');
});

test('the threshold line sits at its fraction of the ratio axis', () => {
  const svg = renderLossChart({ samples: run(30), window: 10, threshold: 0.25, title: 't' });
  // Plot from y=40 to y=360: ratio 0.25 at 360 − 0.25 × 320 = 280.
  expect(svg).toMatch(/id="threshold"[^>]*y1="280\.0"/);
});
