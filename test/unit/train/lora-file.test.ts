// The kohya LoRA file: key set and shapes on the SD 1.5 topology (tiny-sd15topo and the full-size graph), metadata,
// exact read-back, and the merge W + (alpha/r)·up·down that loaders apply.
import { join } from 'node:path';
import { readSafetensors, writeSafetensors } from '../../../shared/safetensors.ts';
import {
  findProjections,
  LORA_TARGETS,
  type Projection,
} from '../../../trainer-image/src/onnx/attention-projections.ts';
import { loadModel } from '../../../trainer-image/src/onnx/codec.ts';
import {
  kohyaLoraName,
  type LoraWeights,
  mergeLora,
  readLoraFile,
  writeLoraFile,
} from '../../../trainer-image/src/train/lora-file.ts';
import { fixtureDir } from '../../support/fixtures.ts';
import { mulberry32 } from '../../support/mulberry32.ts';

const SD15_NAME =
  /^lora_unet_(down_blocks_[0-2]_attentions_[01]|mid_block_attentions_0|up_blocks_[1-3]_attentions_[0-2])_transformer_blocks_0_(attn[12]_(to_q|to_k|to_v|to_out_0)|ff_net_0_proj)$/;

function projections(fixture: string, targets: keyof typeof LORA_TARGETS): Projection[] {
  return findProjections(
    loadModel(join(fixtureDir(fixture), 'unet', 'model.onnx')).graph,
    LORA_TARGETS[targets],
  );
}

function randomWeights(list: readonly Projection[], rank: number): LoraWeights[] {
  const rand = mulberry32(7);
  const values = (n: number) => Float32Array.from({ length: n }, () => rand() - 0.5);
  return list.map((p) => ({
    module: p.module,
    down: values(rank * p.inFeatures),
    up: values(p.outFeatures * rank),
    inFeatures: p.inFeatures,
    outFeatures: p.outFeatures,
  }));
}

const OPTIONS = {
  rank: 4,
  alpha: 4,
  crossAttentionDim: 768,
  predictionType: 'epsilon',
  title: '<my-cat>',
  date: new Date('2026-12-03T00:00:00Z'),
} as const;

describe('lora-file', () => {
  it('names modules as kohya does (dots → underscores, to_out.0 → to_out_0)', () => {
    expect(kohyaLoraName('down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q')).toBe(
      'lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q',
    );
    expect(kohyaLoraName('mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0')).toBe(
      'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_out_0',
    );
    expect(kohyaLoraName('up_blocks.3.attentions.2.transformer_blocks.0.ff.net.0.proj')).toBe(
      'lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_ff_net_0_proj',
    );
  });

  it.each([
    ['tiny-sd15topo', 'paper', 144],
    ['tiny-sd15topo', 'attention', 128],
    ['sd15-fullsize-graph', 'paper', 144],
  ] as const)('%s %s: %i modules × (down, up, alpha), SD 1.5 names and shapes', (fixture, targets, count) => {
    const list = projections(fixture, targets);
    expect(list).toHaveLength(count);
    const file = readSafetensors(writeLoraFile(randomWeights(list, 4), OPTIONS));
    expect(file.tensors.size).toBe(3 * count);
    const names = new Set(
      [...file.tensors.keys()].map((k) => k.replace(/\.(lora_down\.weight|lora_up\.weight|alpha)$/, '')),
    );
    expect(names.size).toBe(count);
    for (const name of names) expect(name).toMatch(SD15_NAME);
    for (const p of list) {
      const name = kohyaLoraName(p.module);
      expect(file.tensors.get(`${name}.lora_down.weight`)).toMatchObject({
        dtype: 'F32',
        shape: [4, p.inFeatures],
      });
      expect(file.tensors.get(`${name}.lora_up.weight`)).toMatchObject({
        dtype: 'F32',
        shape: [p.outFeatures, 4],
      });
      expect(file.tensors.get(`${name}.alpha`)).toMatchObject({ dtype: 'F32', shape: [] });
    }
  });

  it('writes the kohya and model-spec metadata', () => {
    const list = projections('tiny-sd15topo', 'attention').slice(0, 2);
    const { metadata } = readSafetensors(
      writeLoraFile(randomWeights(list, 4), { ...OPTIONS, plateau: { steps: 441 } }),
    );
    expect(metadata).toEqual({
      ss_network_module: 'networks.lora',
      ss_network_dim: '4',
      ss_network_alpha: '4',
      ss_v2: 'False',
      ss_base_model_version: 'sd_v1',
      'modelspec.sai_model_spec': '1.0.0',
      'modelspec.architecture': 'stable-diffusion-v1/lora',
      'modelspec.implementation': 'https://github.com/huggingface/diffusers',
      'modelspec.title': '<my-cat>',
      'modelspec.prediction_type': 'epsilon',
      'modelspec.date': '2026-12-03T00:00:00.000Z',
      'plateau.steps': '441',
    });
    const v2 = readSafetensors(
      writeLoraFile(randomWeights(list, 4), {
        ...OPTIONS,
        crossAttentionDim: 1024,
        predictionType: 'v_prediction',
      }),
    ).metadata;
    expect(v2).toMatchObject({ ss_v2: 'True', 'modelspec.architecture': 'stable-diffusion-v2-768-v/lora' });
  });

  it('reads back exactly what it wrote', () => {
    const list = projections('tiny-sd15topo', 'paper');
    const weights = randomWeights(list, 4);
    const read = readLoraFile(writeLoraFile(weights, { ...OPTIONS, alpha: 8 }));
    expect(read.entries.size).toBe(list.length);
    for (const w of weights) {
      const e = read.entries.get(kohyaLoraName(w.module));
      expect(e).toMatchObject({ rank: 4, alpha: 8, inFeatures: w.inFeatures, outFeatures: w.outFeatures });
      expect(e?.down).toEqual(w.down);
      expect(e?.up).toEqual(w.up);
    }
  });

  it('merges W + (alpha/r)·up·down, and takes a missing alpha as the rank', () => {
    // W [2, 3], rank 1: up [2, 1] = [1, 2], down [1, 3] = [1, 0, -1], alpha 0.5 → scale 0.5.
    const bytes = writeSafetensors({
      'lora_unet_x.lora_down.weight': { dtype: 'F32', shape: [1, 3], data: new Float32Array([1, 0, -1]) },
      'lora_unet_x.lora_up.weight': { dtype: 'F32', shape: [2, 1], data: new Float32Array([1, 2]) },
      'lora_unet_x.alpha': { dtype: 'F32', shape: [], data: new Float32Array([0.5]) },
      'lora_unet_y.lora_down.weight': { dtype: 'F32', shape: [1, 3], data: new Float32Array([1, 0, -1]) },
      'lora_unet_y.lora_up.weight': { dtype: 'F32', shape: [2, 1], data: new Float32Array([1, 2]) },
    });
    const read = readLoraFile(bytes);
    const w = new Float32Array([1, 1, 1, 1, 1, 1]);
    expect([...mergeLora(w, read.entries.get('lora_unet_x')!)]).toEqual([1.5, 1, 0.5, 2, 1, 0]);
    expect(read.entries.get('lora_unet_y')?.alpha).toBe(1);
    expect([...mergeLora(w, read.entries.get('lora_unet_y')!)]).toEqual([2, 1, 0, 3, 1, -1]);
    expect(() =>
      readLoraFile(
        writeSafetensors({ 'unet.x.lora_A.weight': { dtype: 'F32', shape: [1], data: new Float32Array(1) } }),
      ),
    ).toThrow(/unexpected key/);
  });
});
