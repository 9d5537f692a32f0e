/** @jest-environment ./test/onnx/support/onnx-environment.cjs */
// The base model package in the diffusers ONNX layout: every component loads in onnxruntime-node with the
// interface of an SD export and the right output shapes, the pixel-space VAE passes images through, the trainer's
// tokenizer reads the tokenizer, and the trainer builds and runs its textual-inversion graph on the package.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  pretrainForwardModel,
  textualInversionForwardModel,
} from '../../../../models/src/builder/components.ts';
import { baseModelConfig } from '../../../../models/src/builder/config.ts';
import { initialWeights } from '../../../../models/src/builder/model-graph.ts';
import { writeModelPackage } from '../../../../models/src/builder/write-package.ts';
import { openPipelineSampler } from '../../../../models/src/sampler/pipeline-sampler.ts';
import { vocabulary } from '../../../../models/src/world/captions.ts';
import { buildGradientGraph } from '../../../../trainer-image/src/autodiff/build-gradient-graph.ts';
import { encodeModel } from '../../../../trainer-image/src/onnx/codec.ts';
import { Session, type TypedTensor } from '../../../../trainer-image/src/runtime/session.ts';
import { modelResolution } from '../../../../trainer-image/src/train/model-resolution.ts';
import { loadTokenizer } from '../../../../trainer-image/src/train/tokenizer.ts';

const vocab = vocabulary();

function floats(t: TypedTensor | undefined): number[] {
  if (!(t?.data instanceof Float32Array)) throw new Error('expected a float32 tensor');
  return Array.from(t.data);
}
const cfg = baseModelConfig(vocab.length, 'tiny');
let dir = '';
let weights = new Map<string, Float32Array>();

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'plateau-base-model-'));
  // Zero-initialised output projections would make the UNet ignore the text at initialisation: fill them.
  weights = initialWeights(pretrainForwardModel(cfg).params, 3);
  for (const values of weights.values()) if (values.every((v) => v === 0)) values.fill(0.05);
  writeModelPackage(dir, cfg, weights, vocab);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('base model package', () => {
  it('has the diffusers ONNX pipeline layout', () => {
    for (const f of [
      'model_index.json',
      'scheduler/scheduler_config.json',
      'tokenizer/tokenizer.json',
      'text_encoder/model.onnx',
      'text_encoder/config.json',
      'unet/model.onnx',
      'unet/config.json',
      'vae_encoder/model.onnx',
      'vae_encoder/config.json',
      'vae_decoder/model.onnx',
      'vae_decoder/config.json',
    ]) {
      expect(existsSync(join(dir, f))).toBe(true);
    }
    const vae: unknown = JSON.parse(readFileSync(join(dir, 'vae_encoder', 'config.json'), 'utf8'));
    expect(vae).toMatchObject({ scaling_factor: 1, _plateau_pixel_space: true, sample_size: 32 });
  });

  it('runs the text encoder and UNet with SD-export interfaces and shapes', async () => {
    const tokenizer = await loadTokenizer(join(dir, 'tokenizer'));
    const ids = await tokenizer.encode('a photo of a close-up red ring on grass');
    expect(ids).toHaveLength(77);
    expect(ids.slice(0, 4)).toEqual([0, vocab.indexOf('a'), vocab.indexOf('photo'), vocab.indexOf('of')]);
    expect(ids).toContain(vocab.indexOf('close-up'));
    const te = await Session.create(join(dir, 'text_encoder', 'model.onnx'), { intraOpThreads: 1 });
    expect(te.inputNames).toEqual(['input_ids']);
    const hidden = (
      await te.run({
        input_ids: { dataType: 7, dims: [2, 77], data: BigInt64Array.from([...ids, ...ids].map(BigInt)) },
      })
    ).last_hidden_state;
    expect(hidden?.dims).toEqual([2, 77, cfg.textEncoder.hiddenSize]);
    const unet = await Session.create(join(dir, 'unet', 'model.onnx'), { intraOpThreads: 1 });
    expect([...unet.inputNames].sort()).toEqual(['encoder_hidden_states', 'sample', 'timestep']);
    const out = await unet.run({
      sample: { dataType: 1, dims: [2, 3, 32, 32], data: new Float32Array(2 * 3 * 32 * 32).fill(0.1) },
      timestep: { dataType: 7, dims: [2], data: BigInt64Array.from([10n, 900n]) },
      encoder_hidden_states: hidden ?? { dataType: 1, dims: [], data: new Float32Array(0) },
    });
    expect(out.out_sample?.dims).toEqual([2, 3, 32, 32]);
    expect(floats(out.out_sample).every(Number.isFinite)).toBe(true);
    await te.release();
    await unet.release();
  });

  it('has an identity-like pixel-space VAE', async () => {
    const image = Float32Array.from({ length: 3 * 32 * 32 }, (_, i) => Math.sin(i) * 0.9);
    const enc = await Session.create(join(dir, 'vae_encoder', 'model.onnx'));
    const params = (await enc.run({ sample: { dataType: 1, dims: [1, 3, 32, 32], data: image } }))
      .latent_parameters;
    expect(params?.dims).toEqual([1, 6, 32, 32]);
    expect(floats(params).slice(0, image.length)).toEqual(Array.from(image));
    expect(floats(params)[image.length]).toBe(-30);
    const dec = await Session.create(join(dir, 'vae_decoder', 'model.onnx'));
    const back = (await dec.run({ latent_sample: { dataType: 1, dims: [1, 3, 32, 32], data: image } }))
      .sample;
    expect(floats(back)).toEqual(Array.from(image));
    expect(await modelResolution(dir)).toBe(32);
  });

  it('gives a non-zero token-row gradient on the textual-inversion objective', async () => {
    const { model, gradients } = buildGradientGraph(textualInversionForwardModel(cfg, weights), {
      loss: 'loss',
      wrt: ['placeholder_rows'],
    });
    const session = await Session.create(encodeModel(model), { intraOpThreads: 1 });
    const per = 3 * 32 * 32;
    const d = cfg.textEncoder.hiddenSize;
    const ids = new BigInt64Array(77).fill(1n);
    ids[0] = 0n;
    ids[1] = BigInt(vocab.length);
    ids[2] = 2n;
    const out = await session.run({
      placeholder_rows: { dataType: 1, dims: [1, d], data: new Float32Array(d).fill(0.3) },
      input_ids: { dataType: 7, dims: [1, 77], data: ids },
      noisy: { dataType: 1, dims: [1, 3, 32, 32], data: new Float32Array(per).fill(0.5) },
      noise: {
        dataType: 1,
        dims: [1, 3, 32, 32],
        data: Float32Array.from({ length: per }, (_, i) => Math.cos(i)),
      },
      timestep: { dataType: 7, dims: [1], data: BigInt64Array.from([500n]) },
    });
    const g = floats(out[gradients.placeholder_rows ?? '']);
    expect(g).toHaveLength(d);
    expect(g.every(Number.isFinite)).toBe(true);
    expect(g.some((v) => v !== 0)).toBe(true);
    await session.release();
  });

  it('samples images, and a learned token row changes them', async () => {
    const plain = await openPipelineSampler(dir);
    const a = await plain.sample(['a photo of a red ring'], { seed: 1, steps: 4, guidance: 2 });
    expect(a).toHaveLength(3 * 32 * 32);
    expect(a.every((v) => v >= -1.0001 && v <= 1.0001)).toBe(true);
    await plain.release();
    const d = cfg.textEncoder.hiddenSize;
    const learned = await openPipelineSampler(dir, {
      learned: { token: '<thing>', rows: new Float32Array(d).fill(2) },
    });
    const b = await learned.sample(['a photo of a <thing>'], { seed: 1, steps: 4, guidance: 2 });
    expect(b).toHaveLength(a.length);
    expect(Array.from(b)).not.toEqual(Array.from(a));
    await learned.release();
  });
});
