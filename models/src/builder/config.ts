// The base model's architecture in one record: text encoder and UNet sizes, pixel space at 32×32.
// `tiny` is the test-sized variant; `default` is what `npm run make-base-model` pretrains.
export interface TextEncoderConfig {
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly layers: number;
  readonly mlpSize: number;
  readonly maxLength: number;
}

export interface UnetConfig {
  /** Channels at 32×32, 16×16 and 8×8. */
  readonly channels: readonly [number, number, number];
  readonly groups: number;
  readonly crossAttentionDim: number;
  readonly imageSize: number;
  readonly inChannels: number;
}

export interface BaseModelConfig {
  readonly name: string;
  readonly textEncoder: TextEncoderConfig;
  readonly unet: UnetConfig;
  /** Pixel space: the "VAE" components are identity-like graphs with scaling_factor 1. */
  readonly space: 'pixel';
}

export function baseModelConfig(vocabSize: number, size: 'default' | 'tiny' = 'default'): BaseModelConfig {
  const tiny = size === 'tiny';
  const hidden = tiny ? 16 : 64;
  return {
    name: tiny ? 'plateau-tiny' : 'plateau-world-32',
    textEncoder: { vocabSize, hiddenSize: hidden, layers: tiny ? 1 : 2, mlpSize: 2 * hidden, maxLength: 77 },
    unet: {
      channels: tiny ? [8, 8, 16] : [16, 32, 64],
      groups: tiny ? 4 : 8,
      crossAttentionDim: hidden,
      imageSize: 32,
      inChannels: 3,
    },
    space: 'pixel',
  };
}
