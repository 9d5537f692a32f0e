// The JSON beside the graphs in a diffusers ONNX pipeline: model_index.json, scheduler_config.json, each
// component's config.json, and a WordLevel tokenizer.json of CLIP's size and special ids (49,406 / 49,407).
import type { PipelineArch } from './arch.ts';

export function modelIndex(): Record<string, unknown> {
  const ort = ['diffusers', 'OnnxRuntimeModel'];
  return {
    _class_name: 'OnnxStableDiffusionPipeline',
    _diffusers_version: '0.27.2',
    text_encoder: ort,
    unet: ort,
    vae_encoder: ort,
    vae_decoder: ort,
    tokenizer: ['transformers', 'CLIPTokenizer'],
    scheduler: ['diffusers', 'DDPMScheduler'],
  };
}

export function schedulerConfig(a: PipelineArch): Record<string, unknown> {
  return {
    _class_name: 'DDPMScheduler',
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    num_train_timesteps: 1000,
    prediction_type: a.predictionType,
    clip_sample: false,
    set_alpha_to_one: false,
    steps_offset: 1,
  };
}

export function unetConfig(a: PipelineArch): Record<string, unknown> {
  const u = a.unet;
  return {
    _class_name: 'UNet2DConditionModel',
    sample_size: u.sampleSize,
    in_channels: 4,
    out_channels: 4,
    flip_sin_to_cos: true,
    freq_shift: 0,
    down_block_types: ['CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'DownBlock2D'],
    mid_block_type: 'UNetMidBlock2DCrossAttn',
    up_block_types: ['UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D'],
    block_out_channels: [...u.channels],
    layers_per_block: u.layersPerBlock,
    norm_num_groups: u.groups,
    norm_eps: 1e-5,
    cross_attention_dim: u.crossAttentionDim,
    attention_head_dim:
      'count' in u.heads ? u.heads.count : u.channels.map((c) => c / ('size' in u.heads ? u.heads.size : 1)),
    use_linear_projection: u.linearProjection,
    act_fn: 'silu',
  };
}

export function textEncoderConfig(a: PipelineArch): Record<string, unknown> {
  const t = a.textEncoder;
  return {
    architectures: ['CLIPTextModel'],
    hidden_size: t.hiddenSize,
    num_hidden_layers: t.layers,
    num_attention_heads: t.heads,
    intermediate_size: t.intermediateSize,
    hidden_act: t.act,
    vocab_size: t.vocabSize,
    max_position_embeddings: t.maxLength,
    bos_token_id: 49406,
    eos_token_id: 49407,
    pad_token_id: 49407,
  };
}

export function vaeConfig(a: PipelineArch): Record<string, unknown> {
  const v = a.vae;
  return {
    _class_name: 'AutoencoderKL',
    in_channels: 3,
    out_channels: 3,
    down_block_types: new Array<string>(4).fill('DownEncoderBlock2D'),
    up_block_types: new Array<string>(4).fill('UpDecoderBlock2D'),
    block_out_channels: [...v.channels],
    layers_per_block: v.layersPerBlock,
    act_fn: 'silu',
    latent_channels: v.latentChannels,
    norm_num_groups: v.groups,
    sample_size: a.resolution,
    scaling_factor: v.scalingFactor,
  };
}

/** Words the templates and tests use get low ids; every other id is a placeholder word `w<N>`. */
const WORDS = ['a', 'photo', 'of', 'the', 'my', 'one', 'object', 'cat', 'dog', 'toy', 'sks'];

export function tokenizerJson(vocabSize: number, maxLength: number): Record<string, unknown> {
  const bos = '<|startoftext|>';
  const eos = '<|endoftext|>';
  const vocab: Record<string, number> = {};
  for (let id = 0; id < vocabSize - 2; id++) vocab[WORDS[id] ?? `w${id}`] = id;
  vocab[bos] = vocabSize - 2;
  vocab[eos] = vocabSize - 1;
  const special = (id: number, content: string) => ({
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
      pad_id: vocabSize - 1,
      pad_type_id: 0,
      pad_token: eos,
    },
    added_tokens: [special(vocabSize - 2, bos), special(vocabSize - 1, eos)],
    normalizer: { type: 'Lowercase' },
    pre_tokenizer: { type: 'Whitespace' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: eos, type_id: 0 } },
      ],
      pair: [{ Sequence: { id: 'A', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: {
        [bos]: { id: bos, ids: [vocabSize - 2], tokens: [bos] },
        [eos]: { id: eos, ids: [vocabSize - 1], tokens: [eos] },
      },
    },
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: eos },
  };
}
