/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Issue 4 item 5 on the real tiny-sd training graph: `plateau train` for 60 steps straight, and 30 steps then
// `--resume` to 60, give the same embedding (max abs diff 0) and the same sample history; a run that dies
// between checkpoints resumes from the last one and rewrites the lost steps to the same values.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createTrainCommand } from '../../../cli/commands/train.ts';
import { FileStopSignal } from '../../../shared/files/file-stop-signal.ts';
import { FolderArtifactStore } from '../../../shared/files/folder-artifact-store.ts';
import { JsonlSampleSink, readJsonlSamples } from '../../../shared/files/jsonl-sample-sink.ts';
import { readSafetensors, toFloat32 } from '../../../shared/safetensors.ts';
import { checkpointKey, decodeCheckpoint } from '../../../trainer-image/src/train/checkpoint.ts';
import { loadTrainingImages } from '../../../trainer-image/src/train/images.ts';
import { loadOnnxModel } from '../../../trainer-image/src/train/onnx-model.ts';
import {
  type ModelRequest,
  runPersonalization,
  TI_DEFAULTS,
  type TrainingModel,
} from '../../../trainer-image/src/train/personalize.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const PIPELINE = fixtureDir('tiny-sd');
const TOKEN = '<my-toy>';
const root = mkdtempSync(join(tmpdir(), 'plateau-resume-'));
const imagesDir = join(root, 'images');

beforeAll(async () => {
  // Three small generated images of different patterns (they are resized to the model's 32 px).
  mkdirSync(imagesDir, { recursive: true });
  for (let k = 0; k < 3; k++) {
    const raw = Buffer.alloc(48 * 40 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * (k + 3) * 7 + k * 50) % 256;
    await sharp(raw, { raw: { width: 48, height: 40, channels: 3 } })
      .png()
      .toFile(join(imagesDir, `img${k}.png`));
  }
});

// The CLI runs share one loaded model (it holds no training state; building the graph costs seconds on a
// busy CPU); the killed run below loads its own, as a restarted process would.
let shared: Promise<TrainingModel> | undefined;
const sharedModel = async (request: ModelRequest): Promise<TrainingModel> => {
  shared ??= loadOnnxModel(request, { device: 'cpu' });
  return { ...(await shared), release: async () => {} };
};

afterAll(async () => {
  await (await shared)?.release();
  rmSync(root, { recursive: true, force: true });
});

async function train(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await createTrainCommand(sharedModel).run(
    [
      '--model',
      PIPELINE,
      '--images',
      imagesDir,
      '--token',
      TOKEN,
      '--init',
      'toy',
      '--checkpoint-every',
      '20',
      // One deterministic loss per step, whatever the method's default evalEvery: the history compares them.
      '--eval-every',
      '1',
      ...args,
    ],
    {
      version: 'test',
      out: { write: (s: string) => (stdout += s) },
      err: { write: (s: string) => (stderr += s) },
    },
  );
  return { code, stdout, stderr };
}

function embedding(out: string): Float32Array {
  const file = readSafetensors(new Uint8Array(readFileSync(join(out, 'output', `${TOKEN}.safetensors`))));
  const tensor = file.tensors.get(TOKEN);
  expect(tensor?.shape).toEqual([1, 32]);
  expect(file.metadata['modelspec.title']).toBe(TOKEN);
  return toFloat32(tensor!);
}

async function history(out: string) {
  return (await readJsonlSamples(join(out, 'samples.jsonl'))).map(({ wallTimeMs: _, ...rest }) => rest);
}

async function loadLatestCheckpointAt(out: string, step: number) {
  const bytes = await new FolderArtifactStore(out).get(checkpointKey(step));
  if (!bytes) throw new Error(`no checkpoint at step ${step} in ${out}`);
  return decodeCheckpoint(bytes);
}

const maxAbsDiff = (a: Float32Array, b: Float32Array) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));

// Real training on a CPU shared with other jobs: minutes, not the default minute.
jest.setTimeout(300_000);

describe('bit-for-bit resume on tiny-sd', () => {
  const straight = join(root, 'straight');

  it('60 steps straight = 30 steps, stop, --resume to 60', async () => {
    const a = await train(['--out', straight, '--max-steps', '60', '--no-dvar', '--progress-every', '30']);
    expect(a.code).toBe(0);
    expect(a.stderr).toContain('step 60/60');
    expect(JSON.parse(a.stdout)).toMatchObject({ steps: 60, stopReason: 'max-steps', resumedFrom: null });

    const split = join(root, 'split');
    const first = await train(['--out', split, '--max-steps', '30', '--no-dvar']);
    expect(JSON.parse(first.stdout)).toMatchObject({ steps: 30, stopReason: 'max-steps' });
    await expect(train(['--out', split, '--max-steps', '60', '--no-dvar'])).rejects.toThrow(
      /checkpoints of an earlier run: pass --resume/,
    );
    const second = await train(['--out', split, '--max-steps', '60', '--no-dvar', '--resume']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ steps: 60, resumedFrom: 30 });

    const reference = embedding(straight);
    expect(maxAbsDiff(embedding(split), reference)).toBe(0);
    const samples = await history(straight);
    expect(samples).toHaveLength(60);
    expect(samples.every((s) => s.detLoss !== undefined && Number.isFinite(s.trainLoss))).toBe(true);
    expect(samples[59]!.detLoss).not.toBe(samples[0]!.detLoss);
    expect(await history(split)).toEqual(samples);
  });

  it('a run killed between checkpoints resumes from the last one to the same result', async () => {
    const out = join(root, 'killed');
    const images = (await loadTrainingImages(imagesDir, 32)).map((image) => ({
      data: image.pixels,
      channels: 3,
      height: 32,
      width: 32,
    }));
    const settings = {
      ...TI_DEFAULTS,
      token: TOKEN,
      initializerToken: 'toy',
      maxSteps: 40,
      checkpointEvery: 20,
      evalEvery: 1,
    };
    const deps = {
      pipelineDir: PIPELINE,
      images,
      loadModel: (request: Parameters<typeof loadOnnxModel>[0]) => loadOnnxModel(request, { device: 'cpu' }),
      openSink: (fromStep: number) => JsonlSampleSink.open(join(out, 'samples.jsonl'), fromStep),
      stopSignal: new FileStopSignal(join(out, 'STOP')),
      store: new FolderArtifactStore(out),
    };
    // The "kill": the process dies at step 25, after the checkpoint at 20 and the flush at 20.
    await expect(
      runPersonalization(settings, {
        ...deps,
        resume: false,
        onStep: (p) => {
          if (p.step === 25) throw new Error('killed');
        },
      }),
    ).rejects.toThrow('killed');
    expect((await history(out)).length).toBe(20);
    expect(existsSync(join(out, 'output', `${TOKEN}.safetensors`))).toBe(false);
    const resumed = await runPersonalization(settings, { ...deps, resume: true });
    expect(resumed.resumedFrom).toBe(20);
    // The straight run's checkpoint at step 40 holds its rows after 40 steps.
    const reference = await loadLatestCheckpointAt(straight, 40);
    expect(maxAbsDiff(embedding(out), reference.params)).toBe(0);
    expect(resumed.history).toEqual(reference.history);
    expect(await history(out)).toEqual((await history(straight)).slice(0, 40));
  });
});
