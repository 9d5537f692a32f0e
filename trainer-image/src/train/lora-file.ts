// The learned UNet LoRA as a kohya-format safetensors file (`lora_unet_<module, dots → _>.lora_down.weight` [r, in],
// `.lora_up.weight` [out, r], `.alpha` scalar), which diffusers `load_lora_weights`, AUTOMATIC1111 and ComfyUI load;
// its reader, and the merge W + (alpha/r)·up·down that a loader applies.
import {
  readSafetensors,
  type SafeTensor,
  toFloat32,
  writeSafetensors,
} from '../../../shared/safetensors.ts';

export interface LoraWeights {
  /** diffusers module path, e.g. down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q. */
  readonly module: string;
  /** A ("down") [rank, in], row-major. */
  readonly down: Float32Array;
  /** B ("up") [out, rank], row-major. */
  readonly up: Float32Array;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

export interface LoraFileOptions {
  readonly rank: number;
  /** Scale = alpha / rank (alpha = rank: scale 1, the paper's). */
  readonly alpha: number;
  /** The UNet's cross-attention width: 768 → SD 1.x, 1024 → SD 2.x (ss_v2, modelspec architecture). */
  readonly crossAttentionDim: number;
  readonly predictionType: 'epsilon' | 'v_prediction';
  readonly title: string;
  /** Extra plateau.* keys (steps, stop reason, …); values are stringified. */
  readonly plateau?: Readonly<Record<string, string | number | boolean | null>>;
  readonly date?: Date;
}

/** kohya's module name: `lora_unet_` + the diffusers path with every dot replaced (to_out.0 → to_out_0). */
export function kohyaLoraName(module: string): string {
  return `lora_unet_${module.replaceAll('.', '_')}`;
}

/** The SAI model-spec architecture of a UNet LoRA for its base model family. */
export function loraArchitecture(
  crossAttentionDim: number,
  predictionType: 'epsilon' | 'v_prediction',
): string {
  if (crossAttentionDim === 768) return 'stable-diffusion-v1/lora';
  if (crossAttentionDim === 1024) {
    return predictionType === 'v_prediction'
      ? 'stable-diffusion-v2-768-v/lora'
      : 'stable-diffusion-v2-512/lora';
  }
  return `stable-diffusion-d${crossAttentionDim}/lora`;
}

/** Serializes the adapters in kohya's layout (float32 tensors, `.alpha` a 0-d tensor), metadata included. */
export function writeLoraFile(weights: readonly LoraWeights[], options: LoraFileOptions): Uint8Array {
  const { rank, alpha } = options;
  const tensors: Record<string, { dtype: 'F32'; shape: number[]; data: Float32Array }> = {};
  for (const w of weights) {
    if (w.down.length !== rank * w.inFeatures || w.up.length !== w.outFeatures * rank) {
      throw new Error(
        `LoRA '${w.module}': down has ${w.down.length} values for [${rank}, ${w.inFeatures}], up ${w.up.length} for [${w.outFeatures}, ${rank}]`,
      );
    }
    const name = kohyaLoraName(w.module);
    if (`${name}.alpha` in tensors) throw new Error(`LoRA module '${w.module}' given twice`);
    tensors[`${name}.lora_down.weight`] = { dtype: 'F32', shape: [rank, w.inFeatures], data: w.down };
    tensors[`${name}.lora_up.weight`] = { dtype: 'F32', shape: [w.outFeatures, rank], data: w.up };
    tensors[`${name}.alpha`] = { dtype: 'F32', shape: [], data: new Float32Array([alpha]) };
  }
  const v2 = options.crossAttentionDim === 1024;
  const metadata: Record<string, string> = {
    ss_network_module: 'networks.lora',
    ss_network_dim: String(rank),
    ss_network_alpha: String(alpha),
    ss_v2: v2 ? 'True' : 'False',
    ss_base_model_version: v2 ? 'sd_v2' : 'sd_v1',
    'modelspec.sai_model_spec': '1.0.0',
    'modelspec.architecture': loraArchitecture(options.crossAttentionDim, options.predictionType),
    'modelspec.implementation': 'https://github.com/huggingface/diffusers',
    'modelspec.title': options.title,
    'modelspec.prediction_type': options.predictionType === 'v_prediction' ? 'v' : 'epsilon',
    'modelspec.date': (options.date ?? new Date()).toISOString(),
  };
  for (const [key, value] of Object.entries(options.plateau ?? {}))
    metadata[`plateau.${key}`] = String(value);
  return writeSafetensors(tensors, metadata);
}

export interface LoraFileEntry {
  /** The kohya module name (`lora_unet_…`); kohyaLoraName(module) finds a diffusers module's entry. */
  readonly name: string;
  readonly rank: number;
  readonly alpha: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly down: Float32Array;
  readonly up: Float32Array;
}

export interface LoraFile {
  readonly entries: ReadonlyMap<string, LoraFileEntry>;
  readonly metadata: Readonly<Record<string, string>>;
}

const SUFFIXES = ['.lora_down.weight', '.lora_up.weight', '.alpha'] as const;

function matrix(t: SafeTensor | undefined, what: string): { dims: [number, number]; values: Float32Array } {
  const [rows, cols] = t?.shape ?? [];
  if (t?.shape.length !== 2 || rows === undefined || cols === undefined) {
    throw new Error(`LoRA file: ${what} is missing or not a matrix`);
  }
  return { dims: [rows, cols], values: toFloat32(t) };
}

/** Reads a kohya LoRA file (any float dtype); a missing `.alpha` means alpha = rank, as kohya's loaders take it. */
export function readLoraFile(bytes: Uint8Array): LoraFile {
  const file = readSafetensors(bytes);
  const names = new Set<string>();
  for (const key of file.tensors.keys()) {
    const suffix = SUFFIXES.find((s) => key.endsWith(s));
    if (!suffix) throw new Error(`LoRA file: unexpected key '${key}'`);
    names.add(key.slice(0, -suffix.length));
  }
  const entries = new Map<string, LoraFileEntry>();
  for (const name of [...names].sort()) {
    const down = matrix(file.tensors.get(`${name}.lora_down.weight`), `'${name}.lora_down.weight'`);
    const up = matrix(file.tensors.get(`${name}.lora_up.weight`), `'${name}.lora_up.weight'`);
    const [rank, inFeatures] = down.dims;
    const [outFeatures, upRank] = up.dims;
    if (upRank !== rank) throw new Error(`LoRA file: '${name}' has down rank ${rank} but up rank ${upRank}`);
    const alphaTensor = file.tensors.get(`${name}.alpha`);
    const alpha = alphaTensor ? toFloat32(alphaTensor)[0] : rank;
    if (alpha === undefined) throw new Error(`LoRA file: '${name}.alpha' is empty`);
    entries.set(name, { name, rank, alpha, inFeatures, outFeatures, down: down.values, up: up.values });
  }
  return { entries, metadata: file.metadata };
}

/** W + (alpha/rank)·up·down for a weight W [out, in] (row-major; a new array). */
export function mergeLora(weight: Float32Array, entry: LoraFileEntry): Float32Array {
  const { rank, inFeatures, outFeatures, up, down } = entry;
  if (weight.length !== outFeatures * inFeatures) {
    throw new Error(
      `mergeLora '${entry.name}': weight has ${weight.length} values for [${outFeatures}, ${inFeatures}]`,
    );
  }
  const scale = entry.alpha / rank;
  const out = Float32Array.from(weight);
  for (let o = 0; o < outFeatures; o++) {
    for (let r = 0; r < rank; r++) {
      const u = scale * (up[o * rank + r] ?? 0);
      if (u === 0) continue;
      const row = o * inFeatures;
      const d = r * inFeatures;
      for (let i = 0; i < inFeatures; i++) out[row + i] = (out[row + i] ?? 0) + u * (down[d + i] ?? 0);
    }
  }
  return out;
}
