// runPersonalization's wiring with the real tiny-sd tokenizer and scheduler but a stand-in model (a fake VAE
// and a quadratic objective on the row): placeholder and prompts, output file, resume equivalence, refusals.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DvarTracker } from '../../../shared/dvar.ts';
import { FolderArtifactStore } from '../../../shared/files/folder-artifact-store.ts';
import type { LossSample, SampleSink } from '../../../shared/ports.ts';
import { readSafetensors, toFloat32 } from '../../../shared/safetensors.ts';
import type { PixelImage, TrainBatch } from '../../../trainer-image/src/train/batches.ts';
import {
  type ModelRequest,
  type RunDeps,
  type RunSettings,
  runPersonalization,
  TI_DEFAULTS,
} from '../../../trainer-image/src/train/personalize.ts';
import { fixtureDir } from '../../support/fixtures.ts';
import { standInModel } from './support/stand-in-model.ts';

const PIPELINE = fixtureDir('tiny-sd');

const images: PixelImage[] = [0, 1].map((k) => ({
  channels: 3,
  height: 8,
  width: 8,
  data: Float32Array.from({ length: 192 }, (_, i) => Math.cos(i * (k + 2))),
}));

const seen = { requests: [] as ModelRequest[], batches: [] as TrainBatch[] };
const fakeModel = standInModel(seen);

class ListSink implements SampleSink {
  samples: LossSample[] = [];
  async write(sample: LossSample) {
    this.samples.push(sample);
  }
  async flush() {}
}

const settings: RunSettings = {
  ...TI_DEFAULTS,
  token: '<my-toy>',
  initializerToken: 'toy',
  maxSteps: 24,
  checkpointEvery: 8,
  flushEvery: 4,
};

function deps(store: FolderArtifactStore, sink: ListSink, overrides: Partial<RunDeps> = {}): RunDeps {
  return {
    pipelineDir: PIPELINE,
    images,
    loadModel: fakeModel,
    openSink: async (fromStep) => {
      sink.samples = sink.samples.filter((s) => s.step < fromStep);
      return sink;
    },
    stopSignal: { check: async () => ({ stop: false }) },
    store,
    resume: false,
    clock: () => 0,
    ...overrides,
  };
}

const fresh = () => new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-ti-')));

describe('runPersonalization', () => {
  it('adds the placeholder, trains, and writes <token>.safetensors', async () => {
    seen.requests.length = 0;
    seen.batches.length = 0;
    const store = fresh();
    const sink = new ListSink();
    const result = await runPersonalization(settings, deps(store, sink));
    expect(seen.requests[0]).toMatchObject({
      placeholderId: 64,
      initializerId: 25,
      vocabSize: 64,
      nVectors: 1,
    });
    expect(result.lr).toBeCloseTo(0.01, 12);
    expect(result.steps).toBe(24);
    expect(result.outputKey).toBe('output/<my-toy>.safetensors');
    // Every training prompt carries the placeholder id; batches have the configured size.
    expect(seen.batches[0]!.size).toBe(2);
    expect(seen.batches[0]!.inputIds.filter((id) => id === 64)).toHaveLength(2);
    expect(sink.samples).toHaveLength(24);
    const file = readSafetensors((await store.get('output/<my-toy>.safetensors'))!);
    expect(file.tensors.get('<my-toy>')?.shape).toEqual([1, 32]);
    expect(file.metadata['plateau.stop_reason']).toBe('max-steps');
    expect(toFloat32(file.tensors.get('<my-toy>')!)).toEqual(result.rows);
  });

  it('steps the token row at its own rate, scaled by the batch like the run’s', async () => {
    // AdamW's first step moves every parameter with a gradient by the learning rate (less weight decay's share).
    const announced: { lr: number; tokenLr?: number }[] = [];
    const firstStep = async (extra: Partial<RunSettings>) => {
      const result = await runPersonalization(
        { ...settings, maxSteps: 1, learningRate: 1e-3, ...extra },
        deps(fresh(), new ListSink(), { onReady: (info) => announced.push(info) }),
      );
      return Math.max(...Array.from(result.rows, (x) => Math.abs(x - 0.5)));
    };
    expect(await firstStep({})).toBeCloseTo(2e-3, 4);
    expect(await firstStep({ tokenLearningRate: 5e-2 })).toBeCloseTo(0.1, 2);
    expect(await firstStep({ tokenLearningRate: 5e-2, scaleLr: false })).toBeCloseTo(0.05, 2);
    // What the run announces (plateau train's start line, the trainer's log): both rates after scaling.
    expect(announced.map((a) => a.tokenLr)).toEqual([undefined, 0.1, 0.05]);
    expect(announced[1]?.lr).toBeCloseTo(2e-3, 12);
  });

  it('continues from the latest checkpoint to the same result as a straight run', async () => {
    const straight = await runPersonalization(settings, deps(fresh(), new ListSink()));
    const store = fresh();
    const sink = new ListSink();
    const first = await runPersonalization({ ...settings, maxSteps: 12 }, deps(store, sink));
    expect(first.steps).toBe(12);
    const second = await runPersonalization(settings, deps(store, sink, { resume: true }));
    expect(second.resumedFrom).toBe(12);
    expect(Math.max(...second.rows.map((x, i) => Math.abs(x - straight.rows[i]!)))).toBe(0);
    expect(second.history).toEqual(straight.history);
  });

  it('stops by DVAR in-process and records it', async () => {
    const store = fresh();
    const result = await runPersonalization(
      // evalEvery 1: the tracker's window of 20 is in values, one per step.
      { ...settings, maxSteps: 400, evalEvery: 1 },
      deps(store, new ListSink(), { criterion: () => new DvarTracker({ window: 20, threshold: 0.15 }) }),
    );
    expect(result.stopReason).toBe('criterion');
    expect(result.steps).toBeLessThan(400);
  });

  it('refuses a bad initializer and an existing token', async () => {
    await expect(
      runPersonalization({ ...settings, initializerToken: 'zebra' }, deps(fresh(), new ListSink())),
    ).rejects.toThrow(/zebra/);
    await expect(
      runPersonalization({ ...settings, token: 'cat' }, deps(fresh(), new ListSink())),
    ).rejects.toThrow(/already/);
  });
});
