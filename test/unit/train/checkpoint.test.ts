// Checkpoint encoding: an exact round trip of every field, latest-by-step lookup, and clear refusals.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArtifactStore } from '../../../shared/files/folder-artifact-store.ts';
import { writeSafetensors } from '../../../shared/safetensors.ts';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  loadLatestCheckpoint,
  saveCheckpoint,
  type TrainState,
} from '../../../trainer-image/src/train/checkpoint.ts';

function state(step: number): TrainState {
  return {
    step,
    params: Float32Array.of(0.1, -3.4e38, 1e-45, Math.fround(Math.PI)),
    adam: { step, m: Float32Array.of(1, 2, 3, 4), v: Float32Array.of(5e-12, 6, 7, 8) },
    trainRng: [1, 2, 0xffffffff, 4],
    history: [
      { step: 0, loss: 0.1 + 0.2 },
      { step: 1, loss: 1 / 3 },
    ],
    criterionStep: null,
    stopReason: 'cancelled',
    fingerprint: { seed: 59, token: '<cat>', scaleLr: true },
  };
}

describe('checkpoints', () => {
  it('round-trip every field exactly', () => {
    expect(decodeCheckpoint(encodeCheckpoint(state(3)))).toEqual(state(3));
  });

  it('find the latest by step through an ArtifactStore', async () => {
    const store = new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-ckpt-')));
    expect(await loadLatestCheckpoint(store)).toBeUndefined();
    await saveCheckpoint(store, state(9));
    await saveCheckpoint(store, state(100));
    await saveCheckpoint(store, state(20));
    expect((await loadLatestCheckpoint(store))?.step).toBe(100);
  });

  it('refuse documents that are not checkpoints', () => {
    expect(() => decodeCheckpoint(new TextEncoder().encode('{"format":"x"}'), 'k')).toThrow(
      /k: not a plateau checkpoint/,
    );
    expect(() => decodeCheckpoint(new TextEncoder().encode('{nope'), 'k')).toThrow(/k: not JSON/);
    expect(() => decodeCheckpoint(new Uint8Array(4), 'k')).toThrow(/safetensors/);
    const foreign = writeSafetensors({ x: { dtype: 'F32', shape: [1], data: Float32Array.of(1) } });
    expect(() => decodeCheckpoint(foreign, 'k')).toThrow(/k: not a plateau checkpoint/);
  });

  it('are binary and right-sized: a million parameters take 12 MB plus a small header', () => {
    const n = 1_000_000;
    const big: TrainState = {
      ...state(7),
      params: new Float32Array(n).fill(0.25),
      adam: { step: 7, m: new Float32Array(n), v: new Float32Array(n).fill(1e-9) },
    };
    const bytes = encodeCheckpoint(big);
    expect(bytes.byteLength).toBeGreaterThanOrEqual(12 * n);
    expect(bytes.byteLength).toBeLessThan(12 * n + 4096);
    const back = decodeCheckpoint(bytes);
    expect(back.params).toEqual(big.params);
    expect(back.adam.v[n - 1]).toBe(Math.fround(1e-9));
  });

  it('still read the earlier JSON format (base64 float32 arrays)', () => {
    const b64 = (a: Float32Array) => Buffer.from(new Uint8Array(a.buffer)).toString('base64');
    const s = state(5);
    const legacy = {
      format: 'plateau-ti-checkpoint/1',
      step: s.step,
      rows: b64(s.params),
      adam: { step: s.adam.step, m: b64(s.adam.m), v: b64(s.adam.v) },
      trainRng: s.trainRng,
      history: s.history,
      criterionStep: s.criterionStep,
      stopReason: s.stopReason,
      fingerprint: s.fingerprint,
    };
    expect(decodeCheckpoint(new TextEncoder().encode(JSON.stringify(legacy)))).toEqual(s);
  });

  it('resume from the newest step whichever format holds it', async () => {
    const store = new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-ckpt-')));
    await saveCheckpoint(store, state(10));
    const b64 = (a: Float32Array) => Buffer.from(new Uint8Array(a.buffer)).toString('base64');
    const s = state(30);
    const legacy = {
      format: 'plateau-ti-checkpoint/1',
      step: 30,
      rows: b64(s.params),
      adam: { step: 30, m: b64(s.adam.m), v: b64(s.adam.v) },
      trainRng: s.trainRng,
      history: s.history,
      criterionStep: null,
      stopReason: null,
      fingerprint: s.fingerprint,
    };
    await store.put('checkpoints/step-00000030.json', new TextEncoder().encode(JSON.stringify(legacy)));
    expect((await loadLatestCheckpoint(store))?.step).toBe(30);
    await saveCheckpoint(store, state(30));
    expect((await loadLatestCheckpoint(store))?.stopReason).toBe('cancelled');
  });
});
