// Per-method arithmetic (time, cost, overhead, speedups), summaries across concepts, the evalEvery table and
// the recommendation rule.
import {
  type ConceptResult,
  evalEveryMethod,
  evalEveryTable,
  GPU_HOUR_PRICE_USD,
  gainKept,
  methodResult,
  recommendEvalEvery,
  summarizeMethods,
} from '../../../../bench/dvar/results.ts';

const quality = (identity: number) => ({ identity, alignment: 0.5, contextIdentity: identity });
const costs = { trainMs: 20, evalMs: 10, checkMs: 500 };

describe('methodResult', () => {
  it('charges training steps plus the criterion evaluations, against the fixed budget', () => {
    const fixed = { steps: 1000, identity: 0.8, initialIdentity: 0.6 };
    const m = methodResult(
      {
        method: 'dvar',
        steps: 100,
        criterionStep: 99,
        evaluations: 100,
        evaluation: 'dvar',
        quality: quality(0.78),
      },
      costs,
      fixed,
    );
    expect(m.seconds).toBeCloseTo(2 + 1, 12);
    expect(m.overheadShare).toBeCloseTo(0.5, 12);
    expect(m.speedupSteps).toBe(10);
    expect(m.speedupTime).toBeCloseTo(20 / 3, 12);
    expect(m.identityRatio).toBeCloseTo(0.975, 12);
    // (0.78 − 0.6) / (0.8 − 0.6): 90% of the gain over the initializer kept.
    expect(m.gainKept).toBeCloseTo(0.9, 12);
    expect(gainKept(0.5, 0.5, 0.5)).toBe(1);
    expect(m.costUsd).toBeCloseTo((3 / 3600) * GPU_HOUR_PRICE_USD, 15);
    const s = methodResult(
      {
        method: 's',
        steps: 200,
        criterionStep: 200,
        evaluations: 5,
        evaluation: 'samples',
        quality: quality(0.8),
      },
      costs,
      fixed,
    );
    expect(s.seconds).toBeCloseTo(4 + 2.5, 12);
    const none = methodResult(
      {
        method: 'fixed',
        steps: 1000,
        criterionStep: null,
        evaluations: 0,
        evaluation: 'none',
        quality: quality(0.8),
      },
      costs,
      fixed,
    );
    expect([none.speedupSteps, none.speedupTime, none.overheadShare, none.identityRatio]).toEqual([
      1, 1, 0, 1,
    ]);
  });
});

function concept(id: string, stops: Record<string, [number, number, number | null]>): ConceptResult {
  const fixed = { steps: 1000, identity: 0.8, initialIdentity: 0.6 };
  return {
    id,
    description: id,
    cap: 1000,
    costs,
    recordSeconds: 1,
    initial: { identity: 0.6, alignment: 0, contextIdentity: 0.6 },
    curve: [],
    methods: Object.entries(stops).map(([method, [steps, identity, criterionStep]]) =>
      methodResult(
        {
          method,
          steps,
          criterionStep,
          evaluations: method.startsWith('dvar') ? Math.ceil(steps / Number(method.split('-k')[1] ?? 1)) : 0,
          evaluation: method.startsWith('dvar') ? 'dvar' : 'none',
          quality: quality(identity),
        },
        costs,
        fixed,
      ),
    ),
  };
}

const concepts = [
  concept('a', { fixed: [1000, 0.8, null], 'dvar-tuned': [100, 0.8, 99], 'dvar-tuned-k2': [101, 0.8, 100] }),
  concept('b', {
    fixed: [1000, 0.8, null],
    'dvar-tuned': [200, 0.76, 199],
    'dvar-tuned-k2': [209, 0.76, 208],
  }),
  concept('c', {
    fixed: [1000, 0.8, null],
    'dvar-tuned': [1000, 0.8, null],
    'dvar-tuned-k2': [1000, 0.8, null],
  }),
];

describe('summaries', () => {
  it('gives medians with IQR per method and counts the runs that never stopped', () => {
    const summary = summarizeMethods(concepts);
    expect(summary.map((s) => s.method)).toEqual(['fixed', 'dvar-tuned', 'dvar-tuned-k2']);
    const tuned = summary[1]!;
    expect(tuned.steps.median).toBe(200);
    expect(tuned.speedupSteps.median).toBe(5);
    expect(tuned.identityRatio.median).toBeCloseTo(1, 12);
    expect(tuned.identityRatio.q1).toBeCloseTo(0.975, 12);
    expect(tuned.neverStopped).toBe(1);
    expect(summary[0]!.neverStopped).toBe(3);
  });

  it('compares every evalEvery against k = 1 on the same concepts', () => {
    const rows = evalEveryTable(concepts, [1, 2]);
    expect(rows[0]!.stopShift.median).toBe(0);
    expect(rows[1]!.stopShift.median).toBe(1);
    expect(rows[1]!.stopShift.q3).toBeCloseTo(5, 12);
    expect(rows[1]!.overheadShare.median).toBeCloseTo(0.25, 2);
    expect(rows[0]!.overheadShare.median).toBeCloseTo(0.5, 12);
    expect(evalEveryMethod(1)).toBe('dvar-tuned');
    expect(() => evalEveryTable(concepts, [4])).toThrow(/dvar-tuned-k4/);
  });

  it('recommends the smallest k within the overhead budget that keeps quality, else the largest tried', () => {
    const row = (evalEvery: number, overhead: number, change: number) => ({
      evalEvery,
      method: evalEveryMethod(evalEvery),
      stopShift: { median: 0, q1: 0, q3: 0, iqr: 0, n: 1 },
      identityChange: { median: change, q1: change, q3: change, iqr: 0, n: 1 },
      overheadShare: { median: overhead, q1: overhead, q3: overhead, iqr: 0, n: 1 },
      speedupTime: { median: 1, q1: 1, q3: 1, iqr: 0, n: 1 },
    });
    expect(recommendEvalEvery([row(1, 0.7, 0), row(2, 0.35, 0), row(4, 0.09, -0.001), row(8, 0.04, 0)])).toBe(
      4,
    );
    expect(recommendEvalEvery([row(1, 0.7, 0), row(4, 0.09, -0.05), row(8, 0.04, 0)])).toBe(8);
    expect(recommendEvalEvery([row(1, 0.7, 0), row(8, 0.2, 0)])).toBe(8);
  });
});
