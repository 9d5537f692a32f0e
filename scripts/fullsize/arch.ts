// The real dimensions of Stable Diffusion 1.5 and 2.1 (diffusers configs of runwayml/stable-diffusion-v1-5 and
// stabilityai/stable-diffusion-2-1), and a `tiny` size with the same topology and narrow widths for CI smoke tests.
export type Arch = 'sd15' | 'sd21';
export type Size = 'full' | 'tiny';

export interface UnetArch {
  readonly channels: readonly [number, number, number, number];
  readonly layersPerBlock: number;
  readonly groups: number;
  /** SD 1.x: a fixed head count (8); SD 2.x: a fixed head size (64, diffusers' attention_head_dim [5, 10, 20, 20]). */
  readonly heads: { readonly count: number } | { readonly size: number };
  readonly crossAttentionDim: number;
  /** SD 2.x projects into and out of the transformer with Linear layers, SD 1.x with 1×1 convs. */
  readonly linearProjection: boolean;
  readonly sampleSize: number;
}

export interface TextEncoderArch {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly act: 'quick_gelu' | 'gelu';
  readonly maxLength: number;
}

export interface VaeArch {
  readonly channels: readonly [number, number, number, number];
  readonly layersPerBlock: number;
  readonly groups: number;
  readonly latentChannels: number;
  readonly scalingFactor: number;
}

export interface PipelineArch {
  readonly arch: Arch;
  readonly size: Size;
  readonly unet: UnetArch;
  readonly textEncoder: TextEncoderArch;
  readonly vae: VaeArch;
  readonly predictionType: 'epsilon' | 'v_prediction';
  /** Pixels per side the model was trained at. */
  readonly resolution: number;
}

const VOCAB = 49408;

export function pipelineArch(arch: Arch, size: Size = 'full'): PipelineArch {
  const tiny = size === 'tiny';
  const sd21 = arch === 'sd21';
  // The tiny size trains at 64 px (8×8 latents) so a CI run of the full code path takes seconds.
  const resolution = tiny ? 64 : sd21 ? 768 : 512;
  return {
    arch,
    size,
    unet: {
      channels: tiny ? [32, 64, 64, 64] : [320, 640, 1280, 1280],
      layersPerBlock: 2,
      groups: tiny ? 8 : 32,
      heads: sd21 ? { size: tiny ? 16 : 64 } : { count: 8 },
      crossAttentionDim: tiny ? (sd21 ? 48 : 32) : sd21 ? 1024 : 768,
      linearProjection: sd21,
      sampleSize: resolution / 8,
    },
    textEncoder: {
      vocabSize: VOCAB,
      hiddenSize: tiny ? (sd21 ? 48 : 32) : sd21 ? 1024 : 768,
      layers: tiny ? 2 : sd21 ? 23 : 12,
      heads: tiny ? 4 : sd21 ? 16 : 12,
      intermediateSize: tiny ? 64 : sd21 ? 4096 : 3072,
      act: sd21 ? 'gelu' : 'quick_gelu',
      maxLength: 77,
    },
    vae: {
      channels: tiny ? [16, 16, 32, 32] : [128, 256, 512, 512],
      layersPerBlock: 2,
      groups: tiny ? 8 : 32,
      latentChannels: 4,
      scalingFactor: 0.18215,
    },
    predictionType: sd21 ? 'v_prediction' : 'epsilon',
    resolution,
  };
}

/** Attention heads at a UNet level of `channels` width. */
export function unetHeads(unet: UnetArch, channels: number): number {
  return 'count' in unet.heads ? unet.heads.count : channels / unet.heads.size;
}
