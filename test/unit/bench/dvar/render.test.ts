// The Markdown tables and the SVG chart: the numbers land in the right cells, and output is deterministic.
import {
  conceptTable,
  evalEveryMarkdown,
  speedupQualityChart,
  summaryTable,
} from '../../../../bench/dvar/render.ts';
import {
  type ConceptResult,
  evalEveryTable,
  methodResult,
  summarizeMethods,
} from '../../../../bench/dvar/results.ts';

const costs = { trainMs: 20, evalMs: 10, checkMs: 500 };
const fixed = { steps: 1000, identity: 0.8, initialIdentity: 0.6 };
const make = (id: string, dvarSteps: number, identity: number): ConceptResult => ({
  id,
  description: `concept ${id}`,
  cap: 1000,
  costs,
  recordSeconds: 1,
  initial: { identity: 0.6, alignment: 0, contextIdentity: 0.6 },
  curve: [],
  methods: [
    methodResult(
      {
        method: 'fixed',
        steps: 1000,
        criterionStep: null,
        evaluations: 0,
        evaluation: 'none',
        quality: { identity: 0.8, alignment: 1, contextIdentity: 0.8 },
      },
      costs,
      fixed,
    ),
    methodResult(
      {
        method: 'dvar-tuned',
        steps: dvarSteps,
        criterionStep: dvarSteps === 1000 ? null : dvarSteps - 1,
        evaluations: dvarSteps,
        evaluation: 'dvar',
        quality: { identity, alignment: 0.5, contextIdentity: identity },
      },
      costs,
      fixed,
    ),
  ],
});
const concepts = [make('h01', 100, 0.8), make('h02', 1000, 0.76)];

describe('render', () => {
  it('writes the summary table with medians and IQRs', () => {
    const table = summaryTable(summarizeMethods(concepts));
    const lines = table.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^\| method \| steps \|/);
    expect(lines[3]).toMatch(/^\| dvar-tuned \| 550 \[325–775\] \| 5\.50 \[3\.25–7\.75\]× \|/);
    expect(lines[3]).toContain('| 1/2 |');
  });

  it('marks per-concept runs whose rule never fired', () => {
    const table = conceptTable(concepts, ['fixed', 'dvar-tuned']);
    expect(table).toContain('| h01: concept h01 | 1000 (1.000) | 100 (1.000) |');
    expect(table).toContain('| h02: concept h02 | 1000 (1.000) | 1000* (0.950) |');
  });

  it('writes the evalEvery table', () => {
    const md = evalEveryMarkdown(evalEveryTable(concepts, [1]));
    expect(md).toContain('| 1 | 0 [0–0] | 0.00% [0.00–0.00] | 50.0% |');
  });

  it('draws a deterministic SVG with one legend entry per method', () => {
    const summary = summarizeMethods(concepts);
    const svg = speedupQualityChart(concepts, summary, 'test <chart>');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('test &#60;chart&#62;');
    expect(svg).toContain('>dvar-tuned</text>');
    expect(svg.match(/<circle /g)).toHaveLength(4);
    expect(svg).not.toContain('NaN');
    expect(speedupQualityChart(concepts, summary, 'test <chart>')).toBe(svg);
  });
});
