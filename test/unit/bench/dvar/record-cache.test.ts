// The run cache: a recorded run written to disk reads back value for value under the same key, a changed setting
// misses, and a curve is kept per sampling setting beside its run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCurve, loadRecord, saveCurve, saveRecord } from '../../../../bench/dvar/record-cache.ts';
import type { RecordedRun } from '../../../../bench/dvar/record-run.ts';

const dir = mkdtempSync(join(tmpdir(), 'plateau-record-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(cap: number, size: number): RecordedRun {
  const rows = Array.from({ length: cap + 1 }, (_, s) =>
    Float32Array.from({ length: size }, (_, i) => s * 10 + i / 8),
  );
  return {
    conceptId: 'h01',
    hiddenSize: 2,
    cap,
    losses: Array.from({ length: cap }, (_, s) => 1 / (s + 1)),
    trainLosses: Array.from({ length: cap }, (_, s) => 2 / (s + 1)),
    paramsAt: (step) => rows[step]!,
    methodTensors: [{ name: 'lora.a', dims: [1, 3] }],
    evalMs: 1.5,
    trainMs: 2.5,
    wallMs: 100,
    lr: 0.01,
  };
}

test('a saved run reads back whole under its key and misses under another', () => {
  const key = { concept: 'h01', method: { name: 'dreambooth-lora', rank: 4 }, learningRate: 5e-4, cap: 6 };
  const original = run(6, 5);
  saveRecord(dir, key, original);
  const back = loadRecord(dir, key);
  expect(back).toBeDefined();
  expect(back!.losses).toEqual(original.losses);
  expect(back!.methodTensors).toEqual(original.methodTensors);
  for (let s = 0; s <= 6; s++)
    expect(Array.from(back!.paramsAt(s))).toEqual(Array.from(original.paramsAt(s)));
  expect(() => back!.paramsAt(7)).toThrow(RangeError);
  expect(loadRecord(dir, { ...key, learningRate: 1e-3 })).toBeUndefined();
});

test('curves are kept per sampling setting', () => {
  const key = { concept: 'h02', cap: 4 };
  saveRecord(dir, key, run(4, 5));
  const curve = {
    curve: [
      { step: 0, identity: 0.8 },
      { step: 4, identity: 0.9 },
    ],
    checkMs: 12,
  };
  saveCurve(dir, key, { every: 4 }, curve);
  expect(loadCurve(dir, key, { every: 4 })).toEqual(curve);
  expect(loadCurve(dir, key, { every: 2 })).toBeUndefined();
});
