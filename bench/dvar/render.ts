// The benchmark's human outputs, pure and deterministic: the Markdown tables for docs/benchmark.md and an SVG
// chart of speedup against quality (per concept as dots, medians with IQR whiskers as crosses).
import type { ConceptResult, EvalEveryRow, MethodSummary } from './results.ts';
import type { Spread } from './stats.ts';

const f = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const withIqr = (s: Spread, digits: number) =>
  `${f(s.median, digits)} [${f(s.q1, digits)}–${f(s.q3, digits)}]`;
const pct = (value: number) => `${f(100 * value, 1)}%`;

export function summaryTable(rows: readonly MethodSummary[]): string {
  const header =
    '| method | steps | speedup (steps) | speedup (time) | seconds | cost USD | criterion overhead | identity | identity / fixed | gain kept | alignment | never stopped |\n' +
    '|---|---|---|---|---|---|---|---|---|---|---|---|\n';
  return (
    header +
    rows
      .map(
        (r) =>
          `| ${r.method} | ${withIqr(r.steps, 0)} | ${withIqr(r.speedupSteps, 2)}× | ${withIqr(r.speedupTime, 2)}× | ` +
          `${withIqr(r.seconds, 1)} | ${withIqr(r.costUsd, 5)} | ${pct(r.overheadShare.median)} | ${withIqr(r.identity, 3)} | ` +
          `${withIqr(r.identityRatio, 3)} | ${withIqr(r.gainKept, 2)} | ${withIqr(r.alignment, 2)} | ${r.neverStopped}/${r.steps.n} |`,
      )
      .join('\n') +
    '\n'
  );
}

export function conceptTable(concepts: readonly ConceptResult[], methods: readonly string[]): string {
  const header = `| concept | ${methods.map((m) => `${m} steps (identity / fixed)`).join(' | ')} |\n|---|${methods.map(() => '---').join('|')}|\n`;
  return (
    header +
    concepts
      .map((c) => {
        const cells = methods.map((name) => {
          const m = c.methods.find((x) => x.method === name);
          return m
            ? `${m.steps}${m.criterionStep === null && name !== 'fixed' && name !== 'few-iterations' ? '*' : ''} (${f(m.identityRatio, 3)})`
            : '–';
        });
        return `| ${c.id}: ${c.description} | ${cells.join(' | ')} |`;
      })
      .join('\n') +
    '\n'
  );
}

export function evalEveryMarkdown(rows: readonly EvalEveryRow[]): string {
  const header =
    '| evalEvery k | stop-step shift vs k=1 | identity change vs k=1 | evaluation overhead | speedup (time) |\n|---|---|---|---|---|\n';
  return (
    header +
    rows
      .map(
        (r) =>
          `| ${r.evalEvery} | ${withIqr(r.stopShift, 0)} | ${f(100 * r.identityChange.median, 2)}% [${f(100 * r.identityChange.q1, 2)}–${f(100 * r.identityChange.q3, 2)}] | ` +
          `${pct(r.overheadShare.median)} | ${withIqr(r.speedupTime, 2)}× |`,
      )
      .join('\n') +
    '\n'
  );
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
];

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Speedup in steps (log x axis) against identity / fixed (y). Each method: per-concept dots and a cross at the
 * medians spanning the IQRs. Dashed guides at the issue's goal (`goalSpeedup`×, 97%).
 */
export function speedupQualityChart(
  concepts: readonly ConceptResult[],
  summary: readonly MethodSummary[],
  title: string,
  goalSpeedup = 8,
): string {
  const W = 820;
  const H = 440;
  const pad = { left: 70, right: 200, top: 40, bottom: 50 };
  const ratios = concepts.flatMap((c) => c.methods.map((m) => m.identityRatio)).filter(Number.isFinite);
  const speedups = concepts.flatMap((c) => c.methods.map((m) => m.speedupSteps)).filter(Number.isFinite);
  const yMin = Math.min(0.8, ...ratios);
  const yMax = Math.max(1.05, ...ratios);
  const xMax = Math.max(16, ...speedups);
  const x = (s: number) =>
    pad.left + (Math.log2(Math.max(s, 1)) / Math.log2(xMax)) * (W - pad.left - pad.right);
  const y = (r: number) => pad.top + ((yMax - r) / (yMax - yMin)) * (H - pad.top - pad.bottom);
  const n = (v: number) => (Math.round(v * 10) / 10).toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${pad.left}" y="22" font-size="14">${escapeXml(title)}</text>`,
    `<line x1="${pad.left}" y1="${H - pad.bottom}" x2="${W - pad.right}" y2="${H - pad.bottom}" stroke="black"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${H - pad.bottom}" stroke="black"/>`,
    `<text x="${(pad.left + W - pad.right) / 2}" y="${H - 12}" text-anchor="middle">speedup vs fixed budget (steps, log scale)</text>`,
    `<text x="16" y="${(pad.top + H - pad.bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(pad.top + H - pad.bottom) / 2})">identity / fixed budget's</text>`,
  ];
  for (let s = 1; s <= xMax; s *= 2) {
    parts.push(
      `<line x1="${n(x(s))}" y1="${H - pad.bottom}" x2="${n(x(s))}" y2="${H - pad.bottom + 5}" stroke="black"/>`,
      `<text x="${n(x(s))}" y="${H - pad.bottom + 18}" text-anchor="middle">${s}×</text>`,
    );
  }
  const step = (yMax - yMin) / 5;
  for (let i = 0; i <= 5; i++) {
    const r = yMin + i * step;
    parts.push(
      `<line x1="${pad.left - 5}" y1="${n(y(r))}" x2="${pad.left}" y2="${n(y(r))}" stroke="black"/>`,
      `<text x="${pad.left - 8}" y="${n(y(r) + 4)}" text-anchor="end">${r.toFixed(2)}</text>`,
    );
  }
  parts.push(
    `<line x1="${n(x(goalSpeedup))}" y1="${pad.top}" x2="${n(x(goalSpeedup))}" y2="${H - pad.bottom}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<line x1="${pad.left}" y1="${n(y(0.97))}" x2="${W - pad.right}" y2="${n(y(0.97))}" stroke="#999" stroke-dasharray="4 3"/>`,
  );
  summary.forEach((m, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    for (const c of concepts) {
      const r = c.methods.find((z) => z.method === m.method);
      if (r && Number.isFinite(r.identityRatio)) {
        parts.push(
          `<circle cx="${n(x(r.speedupSteps))}" cy="${n(y(r.identityRatio))}" r="2.5" fill="${colour}" fill-opacity="0.45"/>`,
        );
      }
    }
    const cx = x(m.speedupSteps.median);
    const cy = y(m.identityRatio.median);
    parts.push(
      `<line x1="${n(x(m.speedupSteps.q1))}" y1="${n(cy)}" x2="${n(x(m.speedupSteps.q3))}" y2="${n(cy)}" stroke="${colour}" stroke-width="2"/>`,
      `<line x1="${n(cx)}" y1="${n(y(m.identityRatio.q1))}" x2="${n(cx)}" y2="${n(y(m.identityRatio.q3))}" stroke="${colour}" stroke-width="2"/>`,
      `<rect x="${n(cx - 4)}" y="${n(cy - 4)}" width="8" height="8" fill="${colour}"/>`,
      `<rect x="${W - pad.right + 16}" y="${pad.top + 18 * i}" width="10" height="10" fill="${colour}"/>`,
      `<text x="${W - pad.right + 32}" y="${pad.top + 18 * i + 10}">${escapeXml(m.method)}</text>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
