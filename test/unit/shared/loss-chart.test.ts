// loss.svg through vega-lite/vega: valid SVG for empty and long runs, stop marker only with a criterion step,
// the last step trained marked apart from it, the series thinned to a bounded size (keeping the last point), the ratio replayed by DVAR, same bytes twice.
import {
  lossChartSeries,
  lossChartSpec,
  MAX_CHART_POINTS,
  renderLossChart,
} from '../../../shared/loss-chart.ts';
import type { LossSample } from '../../../shared/ports.ts';

const run = (n: number): LossSample[] =>
  Array.from({ length: n }, (_, step) => ({
    step,
    detLoss: 1 / (step + 1),
    trainLoss: 0.5,
    lr: 0.01,
    wallTimeMs: step,
  }));

test('an empty run still renders a valid chart without a stop marker', async () => {
  const svg = await renderLossChart({ samples: [], window: 10, threshold: 0.15, title: 't' });
  expect(svg).toMatch(/^<svg [^>]*>[\s\S]*<\/svg>\n$/);
  expect(svg).not.toContain('stop @');
  expect(svg).not.toContain('NaN');
});

test('a 6100-step run is thinned to a bounded size, keeps its last point and marks the stop', async () => {
  const input = { samples: run(6100), window: 310, threshold: 0.15, criterionStep: 5000, title: 'tok: done' };
  const { losses, ratio } = lossChartSeries(input);
  const det = losses.filter((p) => p.series === 'deterministic loss');
  expect(det.length).toBeLessThanOrEqual(MAX_CHART_POINTS + 1);
  expect(det.at(-1)?.step).toBe(6099);
  // The ratio exists from the W-th value on (ratio 1 there) and is replayed from the det losses.
  expect(ratio[0]).toEqual({ step: 309, value: 1, series: 'DVAR ratio' });
  const svg = await renderLossChart(input);
  expect(svg.length).toBeLessThan(400_000);
  expect(svg).toContain('stop @ 5000');
  expect(svg).toContain('tok: done');
  expect(svg).toContain('deterministic loss');
  expect(svg).toContain('DVAR ratio (W=310)');
  expect(svg).not.toContain('NaN');
});

test('the same samples give the same bytes', async () => {
  const input = { samples: run(50), window: 10, threshold: 0.25, criterionStep: 40, title: 't' };
  expect(await renderLossChart(input)).toBe(await renderLossChart(input));
});

test('the last step trained is marked beside the criterion step, and only when it differs', async () => {
  const input = { samples: run(50), window: 10, threshold: 0.25, criterionStep: 40, title: 't' };
  const svg = await renderLossChart({ ...input, lastStep: 45 });
  expect(svg).toContain('stop @ 40');
  expect(svg).toContain('last step 45');
  expect(await renderLossChart({ ...input, lastStep: 40 })).not.toContain('last step');
  // One definition: the spec the console sends to the browser is the one loss.svg renders.
  expect(JSON.stringify(lossChartSpec({ ...input, lastStep: 45 }))).toContain('last step 45');
});
