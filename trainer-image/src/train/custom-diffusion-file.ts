// Custom Diffusion's outputs: diffusers' `pytorch_custom_diffusion_weights.safetensors` (full K/V matrices, keys
// `<attn>.processor.to_k_custom_diffusion.weight` [out, in], loaded by `unet.load_attn_procs`) and, for
// AUTOMATIC1111 and ComfyUI, which load neither, a kohya-key file of the exact deltas (`lora_unet_….diff` = W − W₀).
import { readSafetensors, toFloat32, writeSafetensors } from '../../../shared/safetensors.ts';
import { kohyaLoraName, loraArchitecture } from './lora-file.ts';

export const CUSTOM_DIFFUSION_FILE_NAME = 'pytorch_custom_diffusion_weights.safetensors';

export interface KvWeight {
  /** diffusers module path ending in attn2.to_k or attn2.to_v. */
  readonly module: string;
  /** W [out, in], row-major (PyTorch's layout). */
  readonly weight: Float32Array;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

const PROJECTION = /^(.*)\.(to_k|to_v)$/;

/** `…attn2.to_k` → `…attn2.processor.to_k_custom_diffusion.weight` (diffusers' CustomDiffusionAttnProcessor keys). */
export function customDiffusionKey(module: string): string {
  const match = PROJECTION.exec(module);
  if (!match) throw new Error(`'${module}' is not a to_k / to_v projection`);
  return `${match[1]}.processor.${match[2]}_custom_diffusion.weight`;
}

function checked(w: KvWeight): KvWeight {
  if (w.weight.length !== w.outFeatures * w.inFeatures) {
    throw new Error(`'${w.module}': ${w.weight.length} values for [${w.outFeatures}, ${w.inFeatures}]`);
  }
  return w;
}

/** The diffusers file: one F32 [out, in] tensor per module, no metadata (diffusers reads none). */
export function writeCustomDiffusionFile(weights: readonly KvWeight[]): Uint8Array {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const w of weights.map(checked)) {
    const key = customDiffusionKey(w.module);
    if (key in tensors) throw new Error(`module '${w.module}' given twice`);
    tensors[key] = { dtype: 'F32', shape: [w.outFeatures, w.inFeatures], data: w.weight };
  }
  return writeSafetensors(tensors);
}

const KEY = /^(.*)\.processor\.(to_k|to_v)_custom_diffusion\.weight$/;

/** Reads a diffusers Custom Diffusion file back to module → weight (to_q/to_out variants are refused). */
export function readCustomDiffusionFile(bytes: Uint8Array): Map<string, KvWeight> {
  const out = new Map<string, KvWeight>();
  for (const [key, t] of readSafetensors(bytes).tensors) {
    const match = KEY.exec(key);
    const [outFeatures, inFeatures] = t.shape;
    if (!match || t.shape.length !== 2 || outFeatures === undefined || inFeatures === undefined) {
      throw new Error(`Custom Diffusion file: unexpected key '${key}' [${t.shape.join(', ')}]`);
    }
    const module = `${match[1]}.${match[2]}`;
    out.set(module, { module, weight: toFloat32(t), inFeatures, outFeatures });
  }
  return out;
}

export interface DiffFileOptions {
  readonly title: string;
  /** 768 → SD 1.x, 1024 → SD 2.x (modelspec architecture). */
  readonly crossAttentionDim: number;
  readonly predictionType: 'epsilon' | 'v_prediction';
  readonly plateau?: Readonly<Record<string, string | number | boolean | null>>;
  readonly date?: Date;
}

/**
 * The kohya "full weight difference" file A1111 (network_full) and ComfyUI ("diff" keys) apply as W₀ + diff:
 * `lora_unet_<module>.diff` [out, in] = W − W₀, exact (no rank truncation). diffusers does not load it.
 */
export function writeKohyaDiffFile(
  weights: readonly KvWeight[],
  base: (module: string) => Float32Array,
  options: DiffFileOptions,
): Uint8Array {
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const w of weights.map(checked)) {
    const w0 = base(w.module);
    if (w0.length !== w.weight.length) throw new Error(`'${w.module}': base weight has ${w0.length} values`);
    const key = `${kohyaLoraName(w.module)}.diff`;
    if (key in tensors) throw new Error(`module '${w.module}' given twice`);
    tensors[key] = {
      dtype: 'F32',
      shape: [w.outFeatures, w.inFeatures],
      data: w.weight.map((v, i) => v - (w0[i] ?? 0)),
    };
  }
  const metadata: Record<string, string> = {
    'modelspec.sai_model_spec': '1.0.0',
    'modelspec.architecture': loraArchitecture(options.crossAttentionDim, options.predictionType),
    'modelspec.implementation': 'https://github.com/huggingface/diffusers',
    'modelspec.title': options.title,
    'modelspec.date': (options.date ?? new Date()).toISOString(),
  };
  for (const [key, value] of Object.entries(options.plateau ?? {}))
    metadata[`plateau.${key}`] = String(value);
  return writeSafetensors(tensors, metadata);
}

/** Reads a kohya `.diff` file: kohya module name → the [out, in] delta. */
export function readKohyaDiffFile(
  bytes: Uint8Array,
): Map<string, { diff: Float32Array; dims: [number, number] }> {
  const out = new Map<string, { diff: Float32Array; dims: [number, number] }>();
  for (const [key, t] of readSafetensors(bytes).tensors) {
    const [rows, cols] = t.shape;
    if (!key.endsWith('.diff') || t.shape.length !== 2 || rows === undefined || cols === undefined) {
      throw new Error(`diff file: unexpected key '${key}' [${t.shape.join(', ')}]`);
    }
    out.set(key.slice(0, -'.diff'.length), { diff: toFloat32(t), dims: [rows, cols] });
  }
  return out;
}
