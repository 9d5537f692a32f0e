/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// Custom Diffusion through the shared trainer: on tiny-sd, 6 straight steps equal 3 + resume + 3 bit for bit (the
// gradient clip included; with random rescale and a prior weight too), the loss is linear in the prior weight,
// the diffusers file holds exactly the trained K/V and the `.diff` file W − W₀; on tiny-sd15topo the diffusers
// file has the SD 1.5 key set (32 tensors); and `plateau gradcheck --method custom-diffusion` lands within 1e-4
// of PyTorch on every fixture, plain and with the position-0 detach.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCdGradcheck } from '../../../cli/commands/gradcheck-cd.ts';
import { FolderArtifactStore } from '../../../shared/files/folder-artifact-store.ts';
import type { SampleSink } from '../../../shared/ports.ts';
import { readSafetensors, toFloat32 } from '../../../shared/safetensors.ts';
import {
  CUSTOM_DIFFUSION_KINDS,
  findProjections,
} from '../../../trainer-image/src/onnx/attention-projections.ts';
import { loadModel } from '../../../trainer-image/src/onnx/codec.ts';
import { loadNodeMetadata } from '../../../trainer-image/src/onnx/node-metadata.ts';
import { weightOutIn } from '../../../trainer-image/src/onnx/weight-values.ts';
import type { PixelImage } from '../../../trainer-image/src/train/batches.ts';
import {
  customDiffusionKey,
  readCustomDiffusionFile,
  readKohyaDiffFile,
} from '../../../trainer-image/src/train/custom-diffusion-file.ts';
import { kohyaLoraName } from '../../../trainer-image/src/train/lora-file.ts';
import type { CustomDiffusionConfig } from '../../../trainer-image/src/train/methods/custom-diffusion.ts';
import { loadOnnxModel } from '../../../trainer-image/src/train/onnx-model.ts';
import {
  type RunDeps,
  type RunSettings,
  runDefaults,
  runPersonalization,
} from '../../../trainer-image/src/train/personalize.ts';
import { FIXTURES_DIR, fixtureDir } from '../../support/fixtures.ts';

const images: PixelImage[] = [0, 1, 2].map((k) => ({
  channels: 3,
  height: 32,
  width: 32,
  data: Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i * (k + 1) * 0.37)),
}));
const classImages: PixelImage[] = [5, 6, 7, 8].map((k) => ({
  channels: 3,
  height: 32,
  width: 32,
  data: Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.cos(i * k * 0.11)),
}));
const nullSink: SampleSink = { write: async () => {}, flush: async () => {} };

function deps(pipelineDir: string, store: FolderArtifactStore, resume = false): RunDeps {
  return {
    pipelineDir,
    images,
    loadModel: (request) => loadOnnxModel(request, { device: 'cpu', intraOpThreads: 1 }),
    openSink: async () => nullSink,
    stopSignal: { check: async () => ({ stop: false }) },
    store,
    resume,
    clock: () => 0,
  };
}

const cd: RunSettings = {
  ...runDefaults('custom-diffusion'),
  method: {
    name: 'custom-diffusion',
    classWord: 'toy',
    classImages: 0,
    priorPreservation: false,
    priorLossWeight: 1,
    maxGradNorm: 1,
  },
  // A learning rate that moves the weights visibly in 6 steps (the paper's 2e-5 would too, just less).
  learningRate: 1e-3,
  token: '<my-toy>',
  initializerToken: 'toy',
  maxSteps: 6,
  checkpointEvery: 3,
  flushEvery: 3,
};
const fresh = () => new FolderArtifactStore(mkdtempSync(join(tmpdir(), 'plateau-cd-')));

/** The base [out, in] weight of each attn2 K/V module of a pipeline's UNet. */
function baseWeights(pipelineDir: string): Map<string, Float32Array> {
  const path = join(pipelineDir, 'unet', 'model.onnx');
  const unet = loadModel(path).graph;
  const out = new Map<string, Float32Array>();
  for (const p of findProjections(unet, CUSTOM_DIFFUSION_KINDS, { nodeMetadata: loadNodeMetadata(path) })) {
    const init = unet.initializers.find((t) => t.name === p.weight)!;
    out.set(p.module, weightOutIn(init, p.weightLayout, join(pipelineDir, 'unet')));
  }
  return out;
}

describe('Custom Diffusion through the trainer', () => {
  it('resumes bit for bit and writes the diffusers and delta files of what it trained', async () => {
    const pipeline = fixtureDir('tiny-sd');
    const straightStore = fresh();
    const straight = await runPersonalization(cd, deps(pipeline, straightStore));
    const store = fresh();
    await runPersonalization({ ...cd, maxSteps: 3 }, deps(pipeline, store));
    const resumed = await runPersonalization(cd, deps(pipeline, store, true));
    expect(resumed.resumedFrom).toBe(3);
    expect(resumed.params).toEqual(straight.params);
    expect(resumed.history).toEqual(straight.history);

    expect(straight.outputKeys).toEqual([
      'output/<my-toy>.safetensors',
      'output/pytorch_custom_diffusion_weights.safetensors',
      'output/<my-toy>-cd-delta.safetensors',
    ]);
    const base = baseWeights(pipeline);
    expect(straight.methodTensors).toHaveLength(base.size);
    const weights = readCustomDiffusionFile(
      (await straightStore.get('output/pytorch_custom_diffusion_weights.safetensors'))!,
    );
    const diffs = readKohyaDiffFile((await straightStore.get('output/<my-toy>-cd-delta.safetensors'))!);
    for (const t of straight.methodTensors) {
      const module = t.name.slice('kv.'.length);
      expect(weights.get(module)?.weight).toEqual(t.data);
      const w0 = base.get(module)!;
      expect(diffs.get(kohyaLoraName(module))?.diff).toEqual(t.data.map((v, i) => v - w0[i]!));
      // Trained, not just written: every K/V matrix moved off the base model.
      expect(t.data.some((v, i) => v !== w0[i])).toBe(true);
    }
    const token = readSafetensors((await straightStore.get('output/<my-toy>.safetensors'))!);
    expect(toFloat32(token.tensors.get('<my-toy>')!)).toEqual(straight.rows);
    expect(token.metadata['plateau.method']).toBe('custom-diffusion');
  }, 300_000);

  it('with prior preservation: batch doubled, lr doubled, resumes bit for bit', async () => {
    const pipeline = fixtureDir('tiny-sd');
    const withPrior: RunSettings = {
      ...cd,
      method: {
        ...(cd.method as CustomDiffusionConfig & { name: 'custom-diffusion' }),
        priorPreservation: true,
        classImages: 4,
      },
    };
    const seen: number[] = [];
    const priorDeps = (store: FolderArtifactStore, resume = false): RunDeps => ({
      ...deps(pipeline, store, resume),
      classImages,
      loadModel: async (request) => {
        seen.push(request.batchSize ?? 0);
        return loadOnnxModel(request, { device: 'cpu', intraOpThreads: 1 });
      },
    });
    const straight = await runPersonalization(withPrior, priorDeps(fresh()));
    expect(seen[0]).toBe(2 * cd.batchSize);
    expect(straight.lr).toBe(2 * cd.learningRate * cd.batchSize);
    const store = fresh();
    await runPersonalization({ ...withPrior, maxSteps: 3 }, priorDeps(store));
    const resumed = await runPersonalization(withPrior, priorDeps(store, true));
    expect(resumed.params).toEqual(straight.params);
    expect(resumed.history).toEqual(straight.history);
    // The deterministic DVAR batch is instance-only: step 0 is the same with or without the prior.
    const plain = await runPersonalization({ ...cd, maxSteps: 1 }, deps(pipeline, fresh()));
    expect(straight.history[0]!.loss).toBe(plain.history[0]!.loss);
  }, 300_000);

  it('with random rescale and a prior: resumes bit for bit, changes the run, never touches the DVAR batch', async () => {
    const pipeline = fixtureDir('tiny-sd');
    const withRescale: RunSettings = {
      ...cd,
      method: {
        ...(cd.method as CustomDiffusionConfig & { name: 'custom-diffusion' }),
        priorPreservation: true,
        classImages: 4,
        priorLossWeight: 0.5,
        randomRescale: true,
      },
    };
    const seen: (boolean | undefined)[] = [];
    const rescaleDeps = (store: FolderArtifactStore, resume = false): RunDeps => ({
      ...deps(pipeline, store, resume),
      classImages,
      loadModel: async (request) => {
        seen.push(request.lossWeights);
        return loadOnnxModel(request, { device: 'cpu', intraOpThreads: 1 });
      },
    });
    const straight = await runPersonalization(withRescale, rescaleDeps(fresh()));
    expect(seen[0]).toBe(true);
    const store = fresh();
    await runPersonalization({ ...withRescale, maxSteps: 3 }, rescaleDeps(store));
    const resumed = await runPersonalization(withRescale, rescaleDeps(store, true));
    expect(resumed.resumedFrom).toBe(3);
    expect(resumed.params).toEqual(straight.params);
    expect(resumed.history).toEqual(straight.history);
    // The augmentation is on the training batches only: step 0's deterministic loss is the plain run's.
    const plain = await runPersonalization({ ...cd, maxSteps: 1 }, deps(pipeline, fresh()));
    expect(straight.history[0]!.loss).toBe(plain.history[0]!.loss);
    // …and it changes what is trained (the same run without it ends elsewhere).
    const off: RunSettings = {
      ...withRescale,
      method: {
        ...(withRescale.method as CustomDiffusionConfig & { name: 'custom-diffusion' }),
        randomRescale: false,
      },
    };
    const unaugmented = await runPersonalization(off, rescaleDeps(fresh()));
    expect(unaugmented.params).not.toEqual(straight.params);
  }, 300_000);

  it('prior loss weight λ: the training loss is L_instance + λ·L_prior (linear in λ, weight 1 on the plain path)', async () => {
    const pipeline = fixtureDir('tiny-sd');
    const firstLoss = async (weight: number): Promise<number> => {
      const settings: RunSettings = {
        ...cd,
        maxSteps: 1,
        method: {
          ...(cd.method as CustomDiffusionConfig & { name: 'custom-diffusion' }),
          priorPreservation: true,
          classImages: 4,
          priorLossWeight: weight,
        },
      };
      let loss = Number.NaN;
      await runPersonalization(settings, {
        ...deps(pipeline, fresh()),
        classImages,
        onStep: (p) => {
          loss = p.trainLoss;
        },
      });
      return loss;
    };
    // The same batch at every λ (the batch draws do not depend on it): L(λ) = L_inst + λ·L_prior.
    const [l0, l1, l3] = [await firstLoss(0), await firstLoss(1), await firstLoss(3)];
    const prior = l1 - l0;
    expect(prior).toBeGreaterThan(1e-3);
    expect(l3).toBeCloseTo(l0 + 3 * prior, 5);
  }, 300_000);

  it('tiny-sd15topo: the diffusers file has the SD 1.5 key set (16 blocks × K, V)', async () => {
    const pipeline = fixtureDir('tiny-sd15topo');
    const store = fresh();
    await runPersonalization({ ...cd, maxSteps: 1, evalBatchSize: 2 }, deps(pipeline, store));
    const file = readSafetensors((await store.get('output/pytorch_custom_diffusion_weights.safetensors'))!);
    const blocks = [
      ...[0, 1, 2].flatMap((d) => [0, 1].map((a) => `down_blocks.${d}.attentions.${a}`)),
      'mid_block.attentions.0',
      ...[1, 2, 3].flatMap((u) => [0, 1, 2].map((a) => `up_blocks.${u}.attentions.${a}`)),
    ];
    const expected = blocks.flatMap((b) =>
      ['to_k', 'to_v'].map((kind) => customDiffusionKey(`${b}.transformer_blocks.0.attn2.${kind}`)),
    );
    expect(expected).toHaveLength(32);
    expect([...file.tensors.keys()].sort()).toEqual(expected.sort());
    for (const key of expected) expect(file.tensors.get(key)?.shape[1]).toBe(32);
  }, 300_000);

  it.each(['tiny-sd', 'tiny-sd-dynamo', 'tiny-sd15topo'])(
    'gradcheck on %s: loss, every K/V (plain and detached at token 0) and the token row within 1e-4',
    async (name) => {
      const r = await runCdGradcheck(join(FIXTURES_DIR, name), { timing: false });
      expect(r.modules).toBe(name === 'tiny-sd15topo' ? 32 : 12);
      for (const v of [
        r.loss_rel_err,
        r.grad_kv_rel_err,
        r.grad_kv_detach0_rel_err,
        r.grad_placeholder_row_rel_err,
        r.grad_placeholder_row_detach0_rel_err,
      ]) {
        expect(v).toBeLessThanOrEqual(1e-4);
      }
    },
    300_000,
  );
});
