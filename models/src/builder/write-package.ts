// Writes a base model in the diffusers ONNX pipeline layout: model_index.json, scheduler/scheduler_config.json
// (DDPM), tokenizer/tokenizer.json (WordLevel with CLIP's special tokens, padded to 77), and model.onnx +
// config.json per component (text_encoder, unet, vae_encoder, vae_decoder). Weights are float32 initializers.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeModel } from '../../../trainer-image/src/onnx/codec.ts';
import type { PredictionType } from '../../../trainer-image/src/train/ddpm.ts';
import { textEncoderModel, unetModel, vaeDecoderModel, vaeEncoderModel } from './components.ts';
import type { BaseModelConfig } from './config.ts';
import type { Weights } from './model-graph.ts';

export const SCHEDULER_CONFIG = {
  _class_name: 'DDPMScheduler',
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  clip_sample: true,
  clip_sample_range: 1.0,
  set_alpha_to_one: false,
  steps_offset: 1,
} as const;

/** The scheduler config of a model trained to predict `prediction` (ε or v). */
export function schedulerConfig(prediction: PredictionType) {
  return { ...SCHEDULER_CONFIG, prediction_type: prediction };
}

/** A Hugging Face tokenizers WordLevel tokenizer.json (lowercase, whitespace split, CLIP specials, pad to 77). */
export function tokenizerJson(vocab: readonly string[], maxLength: number): unknown {
  const special = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxLength, strategy: 'LongestFirst', stride: 0 },
    padding: {
      strategy: { Fixed: maxLength },
      direction: 'Right',
      pad_to_multiple_of: null,
      pad_id: 1,
      pad_type_id: 0,
      pad_token: '<|pad|>',
    },
    added_tokens: [special('<|startoftext|>', 0), special('<|pad|>', 1), special('<|endoftext|>', 2)],
    normalizer: { type: 'Lowercase' },
    // WhitespaceSplit keeps template words such as 'close-up' whole (Whitespace would split at the hyphen).
    pre_tokenizer: { type: 'WhitespaceSplit' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '<|startoftext|>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<|endoftext|>', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '<|startoftext|>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 0 } },
        { SpecialToken: { id: '<|endoftext|>', type_id: 0 } },
      ],
      special_tokens: {
        '<|startoftext|>': { id: '<|startoftext|>', ids: [0], tokens: ['<|startoftext|>'] },
        '<|endoftext|>': { id: '<|endoftext|>', ids: [2], tokens: ['<|endoftext|>'] },
      },
    },
    decoder: null,
    model: {
      type: 'WordLevel',
      vocab: Object.fromEntries(vocab.map((w, i) => [w, i])),
      unk_token: '<|endoftext|>',
    },
  };
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, `${JSON.stringify(value, null, 1)}\n`);
}

/** Adds (or replaces) top-level keys of a written package's model_index.json. */
export function addModelIndexFields(dir: string, fields: Readonly<Record<string, unknown>>): void {
  const path = join(dir, 'model_index.json');
  writeJson(path, { ...(JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>), ...fields });
}

export function writeModelPackage(
  dir: string,
  cfg: BaseModelConfig,
  weights: Weights,
  vocab: readonly string[],
  options: { readonly extra?: Readonly<Record<string, unknown>>; readonly prediction?: PredictionType } = {},
): void {
  for (const sub of ['scheduler', 'tokenizer', 'text_encoder', 'unet', 'vae_encoder', 'vae_decoder'])
    mkdirSync(join(dir, sub), { recursive: true });
  const te = cfg.textEncoder;
  const u = cfg.unet;
  writeJson(join(dir, 'model_index.json'), {
    _class_name: 'OnnxStableDiffusionPipeline',
    _plateau_model: cfg.name,
    scheduler: ['diffusers', 'DDPMScheduler'],
    tokenizer: ['transformers', 'CLIPTokenizerFast'],
    text_encoder: ['diffusers', 'OnnxRuntimeModel'],
    unet: ['diffusers', 'OnnxRuntimeModel'],
    vae_encoder: ['diffusers', 'OnnxRuntimeModel'],
    vae_decoder: ['diffusers', 'OnnxRuntimeModel'],
    ...options.extra,
  });
  writeJson(
    join(dir, 'scheduler', 'scheduler_config.json'),
    schedulerConfig(options.prediction ?? 'epsilon'),
  );
  writeJson(join(dir, 'tokenizer', 'tokenizer.json'), tokenizerJson(vocab, te.maxLength));
  writeJson(join(dir, 'tokenizer', 'tokenizer_config.json'), {
    model_max_length: te.maxLength,
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    pad_token: '<|pad|>',
    unk_token: '<|endoftext|>',
    do_lower_case: true,
  });
  writeJson(join(dir, 'text_encoder', 'config.json'), {
    _class_name: 'CLIPTextModel',
    vocab_size: te.vocabSize,
    hidden_size: te.hiddenSize,
    intermediate_size: te.mlpSize,
    num_hidden_layers: te.layers,
    num_attention_heads: 1,
    max_position_embeddings: te.maxLength,
    hidden_act: 'quick_gelu',
    layer_norm_eps: 1e-5,
    pad_token_id: 1,
    bos_token_id: 0,
    eos_token_id: 2,
  });
  writeJson(join(dir, 'unet', 'config.json'), {
    _class_name: 'UNet2DConditionModel',
    _plateau_architecture: 'plateau-pixel-unet',
    sample_size: u.imageSize,
    in_channels: u.inChannels,
    out_channels: u.inChannels,
    block_out_channels: u.channels,
    norm_num_groups: u.groups,
    cross_attention_dim: u.crossAttentionDim,
    attention_head_dim: u.channels,
    flip_sin_to_cos: true,
    freq_shift: 0,
    act_fn: 'silu',
  });
  const vaeConfig = {
    _class_name: 'AutoencoderKL',
    _plateau_pixel_space: true,
    in_channels: u.inChannels,
    out_channels: u.inChannels,
    latent_channels: u.inChannels,
    sample_size: u.imageSize,
    scaling_factor: 1.0,
  };
  writeJson(join(dir, 'vae_encoder', 'config.json'), vaeConfig);
  writeJson(join(dir, 'vae_decoder', 'config.json'), vaeConfig);
  writeFileSync(join(dir, 'text_encoder', 'model.onnx'), encodeModel(textEncoderModel(cfg, weights)));
  writeFileSync(join(dir, 'unet', 'model.onnx'), encodeModel(unetModel(cfg, weights)));
  writeFileSync(join(dir, 'vae_encoder', 'model.onnx'), encodeModel(vaeEncoderModel(cfg)));
  writeFileSync(join(dir, 'vae_decoder', 'model.onnx'), encodeModel(vaeDecoderModel(cfg)));
}
