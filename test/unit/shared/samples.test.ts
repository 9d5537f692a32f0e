// Sample helpers: normalization after resume, the DVAR history, the observed step rate, the event parsers.
import { parseUploadEvent } from '../../../shared/events.ts';
import type { LossSample } from '../../../shared/ports.ts';
import { detLossHistory, normalizeSamples, observedStepRate } from '../../../shared/samples.ts';
import { sampleSortKey } from '../../../shared/table-layout.ts';

const s = (step: number, wallTimeMs: number, detLoss?: number): LossSample => ({
  step,
  trainLoss: 1,
  lr: 1,
  wallTimeMs,
  detLoss,
});

test('normalizeSamples sorts by step and keeps the last write of a step', () => {
  const out = normalizeSamples([s(2, 20), s(0, 0), s(1, 10), s(1, 99)]);
  expect(out.map((x) => [x.step, x.wallTimeMs])).toEqual([
    [0, 0],
    [1, 99],
    [2, 20],
  ]);
});

test('detLossHistory keeps evaluated steps only, with their steps', () => {
  expect(detLossHistory([s(0, 0, 3), s(1, 1), s(2, 2, 2)])).toEqual({ values: [3, 2], steps: [0, 2] });
});

test('observedStepRate uses the recent span', () => {
  expect(observedStepRate([])).toBeUndefined();
  expect(observedStepRate([s(0, 0)])).toBeUndefined();
  expect(observedStepRate([s(0, 0), s(1, 0)])).toBeUndefined();
  // A slow first step (warm-up) is outside a span of 3.
  expect(observedStepRate([s(0, 0), s(1, 60_000), s(2, 60_500), s(3, 61_000)], 3)).toBe(2);
  // A resume gap inside the span: the median interval still gives the running speed.
  const resumed = [s(0, 0), s(1, 250), s(2, 500), s(3, 300_000), s(4, 300_250), s(5, 300_500)];
  expect(observedStepRate(resumed)).toBe(4);
  expect(observedStepRate([s(0, 0), s(2, 1000)])).toBe(2);
});

test('sample sort keys order by step as strings', () => {
  expect(sampleSortKey(42)).toBe('SAMPLE#0000000042');
  expect(sampleSortKey(9) < sampleSortKey(10)).toBe(true);
  expect(() => sampleSortKey(-1)).toThrow();
  expect(() => sampleSortKey(1.5)).toThrow();
});

test('parseUploadEvent reads S3 notifications and EventBridge events', () => {
  expect(
    parseUploadEvent({
      Records: [{ s3: { bucket: { name: 'b' }, object: { key: 'jobs/a/input/job.json' } } }],
    }),
  ).toEqual([{ bucket: 'b', rawKey: 'jobs/a/input/job.json' }]);
  expect(() => parseUploadEvent({ foo: 1 })).toThrow(/neither/);
});
