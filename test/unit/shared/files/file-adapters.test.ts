// The standalone adapters: a folder ArtifactStore (atomic puts, listing, no escaping the root), the JSONL
// SampleSink (flush makes lines durable, resume drops rewritten steps) and the file StopSignal.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStopSignal } from '../../../../shared/files/file-stop-signal.ts';
import { FolderArtifactStore } from '../../../../shared/files/folder-artifact-store.ts';
import { JsonlSampleSink, readJsonlSamples } from '../../../../shared/files/jsonl-sample-sink.ts';

const fresh = () => mkdtempSync(join(tmpdir(), 'plateau-local-'));

describe('FolderArtifactStore', () => {
  it('puts, gets and lists keys below a prefix', async () => {
    const root = fresh();
    const store = new FolderArtifactStore(root);
    await store.put('checkpoints/step-1.json', Uint8Array.of(1, 2));
    await store.put('output/a.safetensors', Uint8Array.of(3));
    expect(await store.get('checkpoints/step-1.json')).toEqual(Uint8Array.of(1, 2));
    expect(await store.get('missing')).toBeUndefined();
    expect(await store.list('checkpoints/')).toEqual(['checkpoints/step-1.json']);
    expect(await store.list('')).toEqual(['checkpoints/step-1.json', 'output/a.safetensors']);
    expect(readdirSync(join(root, 'output'))).toEqual(['a.safetensors']);
  });

  it('refuses keys outside the root', async () => {
    const store = new FolderArtifactStore(fresh());
    await expect(store.put('../x', Uint8Array.of(1))).rejects.toThrow(/outside the store/);
  });
});

describe('JsonlSampleSink', () => {
  it('writes on flush and drops steps at or after the resume step', async () => {
    const path = join(fresh(), 'samples.jsonl');
    const sink = await JsonlSampleSink.open(path);
    for (let step = 0; step < 4; step++) {
      await sink.write({
        step,
        trainLoss: step,
        lr: 1,
        wallTimeMs: 0,
        ...(step % 2 ? {} : { detLoss: 2 * step }),
      });
    }
    expect(await readJsonlSamples(path)).toEqual([]);
    await sink.flush();
    expect((await readJsonlSamples(path)).map((s) => s.step)).toEqual([0, 1, 2, 3]);
    expect((await readJsonlSamples(path))[2]).toEqual({
      step: 2,
      detLoss: 4,
      trainLoss: 2,
      lr: 1,
      wallTimeMs: 0,
    });

    const resumed = await JsonlSampleSink.open(path, 2);
    await resumed.write({ step: 2, trainLoss: 9, lr: 1, wallTimeMs: 0 });
    await resumed.flush();
    expect((await readJsonlSamples(path)).map((s) => [s.step, s.trainLoss])).toEqual([
      [0, 0],
      [1, 1],
      [2, 9],
    ]);
    expect((await readJsonlSamples((await JsonlSampleSink.open(path)).path)).length).toBe(0);
  });
});

describe('FileStopSignal', () => {
  it('stops once the file exists, with its first line as the reason', async () => {
    const path = join(fresh(), 'STOP');
    const signal = new FileStopSignal(path);
    expect(await signal.check()).toEqual({ stop: false });
    writeFileSync(path, '');
    expect(await signal.check()).toEqual({ stop: true, reason: 'stop-requested' });
    writeFileSync(path, 'cancelled\n');
    expect(await signal.check()).toEqual({ stop: true, reason: 'cancelled' });
  });
});
