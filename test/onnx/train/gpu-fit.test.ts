/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The trainer refuses, before its first step, a job whose training step would not fit the GPU the job definition
// says it has (PLATEAU_GPU_MEMORY_BYTES → OnnxModelOptions.gpuMemoryBytes), and trains one that fits.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FolderArtifactStore } from '../../../shared/files/folder-artifact-store.ts';
import type { LossSample } from '../../../shared/ports.ts';
import type { PixelImage } from '../../../trainer-image/src/train/batches.ts';
import { loadOnnxModel } from '../../../trainer-image/src/train/onnx-model.ts';
import {
  type RunDeps,
  runPersonalization,
  TI_DEFAULTS,
} from '../../../trainer-image/src/train/personalize.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const images: PixelImage[] = [0, 1].map((k) => ({
  channels: 3,
  height: 32,
  width: 32,
  data: Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.cos(i * (k + 2) * 0.1)),
}));

function deps(gpuMemoryBytes: number, written: LossSample[]): RunDeps {
  return {
    pipelineDir: fixtureDir('tiny-sd'),
    images,
    loadModel: (request) => loadOnnxModel(request, { device: 'cpu', gpuMemoryBytes }),
    openSink: async () => ({ write: async (s) => void written.push(s), flush: async () => {} }),
    stopSignal: { check: async () => ({ stop: false }) },
    store: new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-gpu-fit-'))),
    resume: false,
  };
}

describe('the GPU fit check', () => {
  const settings = { ...TI_DEFAULTS, token: '<t>', initializerToken: 'toy', maxSteps: 2 };

  it('refuses a step that needs more than the GPU has, before training', async () => {
    const written: LossSample[] = [];
    await expect(runPersonalization(settings, deps(1024 * 1024, written))).rejects.toThrow(
      /this job's training step \(batch 2, 16×16 latents\) needs about [\d.]+ GiB of GPU memory .* GPU has 0\.0 GiB/,
    );
    expect(written).toHaveLength(0);
  }, 120_000);

  it('trains when it fits', async () => {
    const written: LossSample[] = [];
    const result = await runPersonalization(settings, deps(22 * 2 ** 30, written));
    expect(result.steps).toBe(2);
    expect(written).toHaveLength(2);
  }, 120_000);
});
