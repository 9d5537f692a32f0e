/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// DreamBooth-LoRA through the shared trainer on tiny-sd: it starts at the base model (B = 0, so step 0's
// deterministic loss is textual inversion's), 6 straight steps equal 3 + resume + 3 bit for bit, the kohya file
// holds exactly the trained A/B (paper targets: 9 per block) and the token file the trained row; and
// `plateau gradcheck --method dreambooth-lora` lands within 1e-4 of PyTorch on every fixture.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoraGradcheck } from '../../../cli/commands/gradcheck-lora.ts';
import { FolderArtifactStore } from '../../../shared/files/folder-artifact-store.ts';
import type { SampleSink } from '../../../shared/ports.ts';
import { readSafetensors, toFloat32 } from '../../../shared/safetensors.ts';
import type { PixelImage } from '../../../trainer-image/src/train/batches.ts';
import { kohyaLoraName, readLoraFile } from '../../../trainer-image/src/train/lora-file.ts';
import { loadOnnxModel } from '../../../trainer-image/src/train/onnx-model.ts';
import {
  type RunDeps,
  type RunSettings,
  runDefaults,
  runPersonalization,
} from '../../../trainer-image/src/train/personalize.ts';
import { FIXTURES_DIR, fixtureDir } from '../../support/fixtures.ts';

const PIPELINE = fixtureDir('tiny-sd');
const images: PixelImage[] = [0, 1, 2].map((k) => ({
  channels: 3,
  height: 32,
  width: 32,
  data: Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * (k + 1) * 0.37)),
}));
const nullSink: SampleSink = { write: async () => {}, flush: async () => {} };

function deps(store: FolderArtifactStore, resume = false): RunDeps {
  return {
    pipelineDir: PIPELINE,
    images,
    loadModel: (request) => loadOnnxModel(request, { device: 'cpu', intraOpThreads: 1 }),
    openSink: async () => nullSink,
    stopSignal: { check: async () => ({ stop: false }) },
    store,
    resume,
    clock: () => 0,
  };
}

const lora: RunSettings = {
  ...runDefaults('dreambooth-lora'),
  method: { name: 'dreambooth-lora', rank: 4, alpha: 4, targets: 'paper' },
  token: '<my-toy>',
  initializerToken: 'toy',
  maxSteps: 6,
  checkpointEvery: 3,
  flushEvery: 3,
};
const fresh = () => new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-lora-')));

describe('DreamBooth-LoRA through the trainer', () => {
  it('starts at the base model, resumes bit for bit, and writes loadable files', async () => {
    const straightStore = fresh();
    const straight = await runPersonalization(lora, deps(straightStore));
    const ti = await runPersonalization(
      { ...lora, method: { name: 'textual-inversion' }, maxSteps: 1 },
      deps(fresh()),
    );
    expect(straight.history[0]!.loss).toBe(ti.history[0]!.loss);

    const store = fresh();
    await runPersonalization({ ...lora, maxSteps: 3 }, deps(store));
    const resumed = await runPersonalization(lora, deps(store, true));
    expect(resumed.resumedFrom).toBe(3);
    expect(resumed.params).toEqual(straight.params);
    expect(resumed.history).toEqual(straight.history);

    // tiny-sd has 6 transformer blocks: 9 projections each with the paper's targets.
    expect(straight.methodTensors).toHaveLength(6 * 9 * 2);
    expect(straight.outputKeys).toEqual(['output/<my-toy>.safetensors', 'output/<my-toy>-lora.safetensors']);
    const file = readLoraFile((await straightStore.get('output/<my-toy>-lora.safetensors'))!);
    expect(file.entries.size).toBe(54);
    expect(file.metadata.ss_network_dim).toBe('4');
    for (const t of straight.methodTensors.filter((x) => x.name.startsWith('lora.A.'))) {
      const module = t.name.slice('lora.A.'.length);
      const entry = file.entries.get(kohyaLoraName(module));
      expect(entry?.down).toEqual(t.data);
      const b = straight.methodTensors.find((x) => x.name === `lora.B.${module}`)!;
      expect(entry?.up).toEqual(b.data);
      // B moved off zero: the adapters were trained, not just written.
      expect(b.data.some((v) => v !== 0)).toBe(true);
    }
    const token = readSafetensors((await straightStore.get('output/<my-toy>.safetensors'))!);
    expect(toFloat32(token.tensors.get('<my-toy>')!)).toEqual(straight.rows);
    expect(token.metadata['plateau.method']).toBe('dreambooth-lora');
  }, 300_000);

  it.each(['tiny-sd', 'tiny-sd-dynamo', 'tiny-sd15topo'])(
    'gradcheck on %s: loss, every A, B and the token row within 1e-4 of PyTorch',
    async (name) => {
      const r = await runLoraGradcheck(join(FIXTURES_DIR, name), { timing: false });
      expect(r.modules).toBe(name === 'tiny-sd15topo' ? 128 : 48);
      for (const v of [
        r.loss_rel_err,
        r.grad_lora_A_rel_err,
        r.grad_lora_B_rel_err,
        r.grad_placeholder_row_rel_err,
      ]) {
        expect(v).toBeLessThanOrEqual(1e-4);
      }
    },
    300_000,
  );
});
