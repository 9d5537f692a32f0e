// loss.svg: deterministic loss and train loss against the step (left axis, shared scale), the DVAR ratio and
// its threshold (right axis, 0–1) and a marker at the criterion step. Pure and deterministic: the same
// samples give the same bytes (fixed number formatting, no dates, no random ids).
import { DvarTracker } from '../../shared/dvar.ts';
import type { LossSample } from '../../shared/ports.ts';

export interface LossChartInput {
  readonly samples: readonly LossSample[];
  readonly window: number;
  readonly threshold: number;
  readonly criterionStep?: number;
  readonly title: string;
}

const WIDTH = 800;
const HEIGHT = 400;
const PAD = { left: 60, right: 60, top: 40, bottom: 40 };
/** More points than pixels only bloats the file: keep at most this many per line (evenly strided). */
const MAX_POINTS = 1600;

const fmt = (value: number) => (Math.round(value * 10) / 10).toFixed(1);

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function stride<T>(items: readonly T[]): T[] {
  if (items.length <= MAX_POINTS) return [...items];
  const step = items.length / MAX_POINTS;
  const kept: T[] = [];
  for (let i = 0; i < MAX_POINTS; i++) kept.push(items[Math.floor(i * step)]!);
  kept.push(items[items.length - 1]!);
  return kept;
}

export function renderLossChart(input: LossChartInput): string {
  const { samples, window, threshold, criterionStep } = input;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const maxStep = Math.max(1, ...samples.map((s) => s.step), criterionStep ?? 0);
  const losses = samples.flatMap((s) => [s.trainLoss, s.detLoss ?? s.trainLoss]).filter(Number.isFinite);
  const lo = losses.length ? Math.min(...losses) : 0;
  const hi = losses.length ? Math.max(...losses) : 1;
  const span = hi > lo ? hi - lo : 1;
  const x = (step: number) => PAD.left + (step / maxStep) * plotW;
  const yLoss = (v: number) => PAD.top + (1 - (v - lo) / span) * plotH;
  const yRatio = (r: number) => PAD.top + (1 - Math.min(1, Math.max(0, r))) * plotH;
  const path = (points: readonly (readonly [number, number])[]) =>
    points.map(([px, py], i) => `${i === 0 ? 'M' : 'L'}${fmt(px)} ${fmt(py)}`).join(' ');

  const train = stride(
    samples.filter((s) => Number.isFinite(s.trainLoss)).map((s) => [x(s.step), yLoss(s.trainLoss)] as const),
  );
  const det: (readonly [number, number])[] = [];
  const ratio: (readonly [number, number])[] = [];
  const tracker = new DvarTracker({ window, threshold });
  for (const s of samples) {
    if (s.detLoss === undefined || !Number.isFinite(s.detLoss)) continue;
    det.push([x(s.step), yLoss(s.detLoss)]);
    tracker.push(s.detLoss);
    if (tracker.ratio !== undefined) ratio.push([x(s.step), yRatio(tracker.ratio)]);
  }
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(input.title)}</title>`,
    `<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<rect x="${PAD.left}" y="${PAD.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999999"/>`,
    `<text x="${PAD.left}" y="24">${escapeXml(input.title)}</text>`,
    `<text x="${PAD.left}" y="${HEIGHT - 12}">step 0</text>`,
    `<text x="${WIDTH - PAD.right}" y="${HEIGHT - 12}" text-anchor="end">step ${maxStep}</text>`,
    `<text x="${PAD.left - 6}" y="${PAD.top + 4}" text-anchor="end">${hi.toPrecision(3)}</text>`,
    `<text x="${PAD.left - 6}" y="${PAD.top + plotH}" text-anchor="end">${lo.toPrecision(3)}</text>`,
    `<text x="${WIDTH - PAD.right + 6}" y="${PAD.top + 4}">ratio 1</text>`,
    `<text x="${WIDTH - PAD.right + 6}" y="${PAD.top + plotH}">0</text>`,
    `<path id="train-loss" d="${path(train)}" fill="none" stroke="#bbbbbb" stroke-width="1"/>`,
    `<path id="det-loss" d="${path(stride(det))}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`,
    `<path id="dvar-ratio" d="${path(stride(ratio))}" fill="none" stroke="#2ca02c" stroke-width="1.5"/>`,
    `<line id="threshold" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${fmt(yRatio(threshold))}" y2="${fmt(yRatio(threshold))}" stroke="#2ca02c" stroke-dasharray="4 4"/>`,
  ];
  if (criterionStep !== undefined) {
    const cx = fmt(x(criterionStep));
    parts.push(
      `<line id="stop-marker" x1="${cx}" x2="${cx}" y1="${PAD.top}" y2="${PAD.top + plotH}" stroke="#d62728" stroke-width="1.5"/>`,
      `<text x="${cx}" y="${PAD.top - 4}" text-anchor="middle" fill="#d62728">stop @ ${criterionStep}</text>`,
    );
  }
  const legend = [
    ['#1f77b4', 'deterministic loss'],
    ['#bbbbbb', 'train loss'],
    ['#2ca02c', `DVAR ratio (W=${window}), threshold ${threshold}`],
  ];
  legend.forEach(([color, label], i) => {
    const lx = WIDTH - PAD.right - 260;
    const ly = PAD.top + 16 + i * 16;
    parts.push(`<rect x="${lx}" y="${ly - 9}" width="10" height="10" fill="${color}"/>`);
    parts.push(`<text x="${lx + 16}" y="${ly}">${escapeXml(label ?? '')}</text>`);
  });
  parts.push('</svg>', '');
  return parts.join('\n');
}
