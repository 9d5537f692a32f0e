// Custom Diffusion's files on the SD 1.5 topology (tiny-sd15topo's golden module table): diffusers' 32 K/V tensors
// in [out, in], the kohya exact-delta file for A1111/ComfyUI, and both read back.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { readSafetensors } from '../../../shared/safetensors.ts';
import {
  customDiffusionKey,
  type KvWeight,
  readCustomDiffusionFile,
  readKohyaDiffFile,
  writeCustomDiffusionFile,
  writeKohyaDiffFile,
} from '../../../trainer-image/src/train/custom-diffusion-file.ts';
import { kohyaLoraName } from '../../../trainer-image/src/train/lora-file.ts';
import { fixtureDir } from '../../support/fixtures.ts';
import { mulberry32 } from '../../support/mulberry32.ts';

const table = z
  .object({ modules: z.record(z.string(), z.object({ in: z.number(), out: z.number() })) })
  .parse(JSON.parse(readFileSync(join(fixtureDir('tiny-sd15topo'), 'golden-cd.json'), 'utf8'))).modules;

function weights(seed: number): KvWeight[] {
  const rand = mulberry32(seed);
  return Object.entries(table).map(([module, { in: inFeatures, out: outFeatures }]) => ({
    module,
    weight: Float32Array.from({ length: inFeatures * outFeatures }, () => rand() - 0.5),
    inFeatures,
    outFeatures,
  }));
}

describe('custom-diffusion-file', () => {
  it('spells diffusers’ processor keys', () => {
    expect(customDiffusionKey('down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k')).toBe(
      'down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_k_custom_diffusion.weight',
    );
    expect(customDiffusionKey('mid_block.attentions.0.transformer_blocks.0.attn2.to_v')).toBe(
      'mid_block.attentions.0.transformer_blocks.0.attn2.processor.to_v_custom_diffusion.weight',
    );
    expect(() => customDiffusionKey('mid_block.attentions.0.transformer_blocks.0.attn2.to_q')).toThrow(
      /to_k/,
    );
  });

  it('tiny-sd15topo: 32 tensors [out, in] over 16 attention processors, read back exactly', () => {
    const kv = weights(3);
    expect(kv).toHaveLength(32);
    const bytes = writeCustomDiffusionFile(kv);
    const file = readSafetensors(bytes);
    expect(file.tensors.size).toBe(32);
    expect(new Set([...file.tensors.keys()].map((k) => k.split('.processor.')[0])).size).toBe(16);
    for (const w of kv) {
      expect(file.tensors.get(customDiffusionKey(w.module))).toMatchObject({
        dtype: 'F32',
        shape: [w.outFeatures, w.inFeatures],
      });
    }
    const read = readCustomDiffusionFile(bytes);
    expect([...read.keys()].sort()).toEqual(kv.map((w) => w.module).sort());
    for (const w of kv) expect(read.get(w.module)).toEqual(w);
  });

  it('the kohya .diff file holds W − W₀ exactly enough that W₀ + diff gives W back', () => {
    const kv = weights(3);
    const base = new Map(weights(4).map((w) => [w.module, w.weight]));
    const bytes = writeKohyaDiffFile(kv, (m) => base.get(m) ?? new Float32Array(), {
      title: '<my-cat>',
      crossAttentionDim: 768,
      predictionType: 'epsilon',
    });
    const file = readSafetensors(bytes);
    expect(file.metadata['modelspec.architecture']).toBe('stable-diffusion-v1/lora');
    const read = readKohyaDiffFile(bytes);
    expect(read.size).toBe(32);
    for (const w of kv) {
      const entry = read.get(kohyaLoraName(w.module));
      expect(kohyaLoraName(w.module)).toMatch(/_attn2_to_[kv]$/);
      expect(entry?.dims).toEqual([w.outFeatures, w.inFeatures]);
      const w0 = base.get(w.module) ?? new Float32Array();
      // One float32 rounding in W − W₀ and one in W₀ + diff: within 2 ulps of |W| + |W₀|.
      w.weight.forEach((v, i) => {
        const back = Math.fround((w0[i] ?? 0) + (entry?.diff[i] ?? 0));
        expect(Math.abs(back - v)).toBeLessThanOrEqual(2 ** -22 * (Math.abs(v) + Math.abs(w0[i] ?? 0)));
      });
    }
  });
});
