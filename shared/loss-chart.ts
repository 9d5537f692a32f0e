// The loss chart's one Vega-Lite definition: a top panel with the deterministic and train losses against the
// step, a bottom panel with the DVAR ratio and its threshold, the criterion and last steps marked in both.
// loss.svg (functions/finalize, `plateau train`) renders it headless; the web console draws it live.
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { DvarTracker } from './dvar.ts';
import type { LossSample } from './ports.ts';

export interface LossChartInput {
  readonly samples: readonly LossSample[];
  readonly window: number;
  readonly threshold: number;
  readonly criterionStep?: number;
  /** The last step trained (the actual stop), marked apart from the criterion step when they differ. */
  readonly lastStep?: number;
  readonly title: string;
}

/** More points than pixels only bloats the file: keep at most this many per series (evenly strided). */
export const MAX_CHART_POINTS = 1600;
const WIDTH = 720;

function stride<T>(items: readonly T[]): T[] {
  if (items.length <= MAX_CHART_POINTS) return [...items];
  const step = items.length / MAX_CHART_POINTS;
  const kept: T[] = [];
  for (let i = 0; i < MAX_CHART_POINTS; i++) kept.push(items[Math.floor(i * step)]!);
  kept.push(items[items.length - 1]!);
  return kept;
}

interface Point {
  readonly step: number;
  readonly value: number;
  readonly series: string;
}

/** The chart's data series: losses (finite values only) and the DVAR ratio replayed from the det losses. */
export function lossChartSeries(input: LossChartInput): { losses: Point[]; ratio: Point[] } {
  const train: Point[] = [];
  const det: Point[] = [];
  const ratio: Point[] = [];
  const tracker = new DvarTracker({ window: input.window, threshold: input.threshold });
  for (const s of input.samples) {
    if (Number.isFinite(s.trainLoss)) train.push({ step: s.step, value: s.trainLoss, series: 'train loss' });
    if (s.detLoss === undefined || !Number.isFinite(s.detLoss)) continue;
    det.push({ step: s.step, value: s.detLoss, series: 'deterministic loss' });
    tracker.push(s.detLoss);
    if (tracker.ratio !== undefined) ratio.push({ step: s.step, value: tracker.ratio, series: 'DVAR ratio' });
  }
  return { losses: [...stride(det), ...stride(train)], ratio: stride(ratio) };
}

/** The Vega-Lite specification, data inline: what loss.svg renders and the console draws in the browser. */
export function lossChartSpec(input: LossChartInput): TopLevelSpec {
  const { losses, ratio } = lossChartSeries(input);
  // Explicit domains: an empty run still gets finite axes (vega would label them NaN).
  const lastStep = Math.max(
    1,
    ...input.samples.map((s) => s.step),
    input.criterionStep ?? 0,
    input.lastStep ?? 0,
  );
  const rule = (step: number, mark: Record<string, unknown>) => ({
    data: { values: [{ step }] },
    mark: { type: 'rule' as const, strokeWidth: 1.5, ...mark },
    encoding: { x: { field: 'step', type: 'quantitative' as const } },
  });
  const label = (step: number, text: string, color: string) => ({
    data: { values: [{ step, label: text }] },
    // Left of its rule: the last step sits at the right edge, where a label to the right would leave the plot.
    mark: { type: 'text' as const, color, align: 'right' as const, dx: -4, y: 8 },
    encoding: {
      x: { field: 'step', type: 'quantitative' as const },
      text: { field: 'label', type: 'nominal' as const },
    },
  });
  const { criterionStep } = input;
  // The actual stop trails the criterion by the stop latency; it gets its own (dashed) rule when it differs,
  // and its own label unless the two are too close for two labels, when they share one.
  const trained =
    input.lastStep !== undefined && input.lastStep !== criterionStep ? input.lastStep : undefined;
  const shareLabel =
    trained !== undefined && criterionStep !== undefined && trained - criterionStep < lastStep * 0.15;
  const rules = [
    ...(criterionStep === undefined ? [] : [rule(criterionStep, { color: '#d62728' })]),
    ...(trained === undefined ? [] : [rule(trained, { color: '#7f7f7f', strokeDash: [2, 3] })]),
  ];
  const labels = [
    ...(criterionStep === undefined
      ? []
      : [
          label(
            criterionStep,
            `stop @ ${criterionStep}${shareLabel ? ` · last step ${trained}` : ''}`,
            '#d62728',
          ),
        ]),
    ...(trained === undefined || shareLabel ? [] : [label(trained, `last step ${trained}`, '#7f7f7f')]),
  ];
  const stepAxis = {
    field: 'step',
    type: 'quantitative' as const,
    title: 'step',
    scale: { domain: [0, lastStep], nice: false },
    // Whole steps only: a short run (the live chart's first seconds) would otherwise get ticks at 0.5.
    axis: { tickMinStep: 1, format: 'd' },
  };
  // Each loss on its own axis: the deterministic loss (DVAR's input) moves far less than the noisy train loss,
  // and on a shared axis its shape — what the ratio below measures — would be a flat line.
  const lossLine = (series: string, color: string, orient: 'left' | 'right', strokeWidth: number) => {
    const values = losses.filter((p) => p.series === series);
    return {
      data: { values },
      mark: { type: 'line' as const, strokeWidth },
      encoding: {
        x: stepAxis,
        y: {
          field: 'value',
          type: 'quantitative' as const,
          title: series,
          scale: values.length > 0 ? { zero: false } : { domain: [0, 1] },
          axis: { orient, titleColor: color },
        },
        color: {
          field: 'series',
          type: 'nominal' as const,
          title: null,
          scale: { domain: ['deterministic loss', 'train loss'], range: ['#1f77b4', '#bbbbbb'] },
        },
      },
    };
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: input.title,
    background: 'white',
    config: { font: 'sans-serif' },
    // One step axis for both panels, so the stop marker lines up.
    resolve: { scale: { x: 'shared' } },
    vconcat: [
      {
        width: WIDTH,
        height: 240,
        resolve: { scale: { y: 'independent' } },
        layer: [
          lossLine('train loss', '#888888', 'right', 1),
          lossLine('deterministic loss', '#1f77b4', 'left', 1.6),
          ...rules,
          ...labels,
        ],
      },
      {
        width: WIDTH,
        height: 140,
        layer: [
          {
            data: { values: ratio },
            mark: { type: 'line', color: '#2ca02c', strokeWidth: 1.2 },
            encoding: {
              x: stepAxis,
              y: {
                field: 'value',
                type: 'quantitative',
                title: `DVAR ratio (W=${input.window})`,
                scale: { domain: [0, 1], clamp: true },
              },
            },
          },
          {
            data: { values: [{ threshold: input.threshold, label: `threshold ${input.threshold}` }] },
            mark: { type: 'rule', color: '#2ca02c', strokeDash: [4, 4] },
            encoding: { y: { field: 'threshold', type: 'quantitative' } },
          },
          ...rules,
        ],
      },
    ],
  };
}

/** The loss chart as an SVG document (headless vega: text widths are estimated, no canvas needed). */
export async function renderLossChart(input: LossChartInput): Promise<string> {
  const vegaSpec = compile(lossChartSpec(input)).spec;
  const view = new View(parse(vegaSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return svg.endsWith('\n') ? svg : `${svg}\n`;
  } finally {
    view.finalize();
  }
}
