// Checkpoint encoding: an exact round trip of every field, latest-by-step lookup, and clear refusals.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArtifactStore } from '../../../shared/local/folder-artifact-store.ts';
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
    rows: Float32Array.of(0.1, -3.4e38, 1e-45, Math.fround(Math.PI)),
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
    expect(() => decodeCheckpoint(new TextEncoder().encode('nope'), 'k')).toThrow(/k: not JSON/);
  });
});
