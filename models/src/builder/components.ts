// The base model's ONNX graphs with the interfaces of a diffusers SD export: text_encoder (input_ids int64
// [B, 77] → last_hidden_state), unet (sample, timestep int64, encoder_hidden_states → out_sample), and
// pixel-space stand-ins for the VAE: vae_encoder returns latent_parameters = sample ‖ logvar −30 (so a
// posterior sample is the image itself), vae_decoder is the identity; with scaling_factor 1 the trainer treats
// the model exactly like an SD export. Also the pretraining graph: both networks + MSE loss, weights as inputs.
import { DataType, type OnnxModel } from '../../../trainer-image/src/onnx/model.ts';
import type { BaseModelConfig } from './config.ts';
import { ModelGraph, type ParamSpec, type Weights } from './model-graph.ts';
import { emitTextEncoder } from './text-encoder.ts';
import { emitUnet } from './unet.ts';

export const OPSET = 17;

export function textEncoderModel(cfg: BaseModelConfig, weights: Weights): OnnxModel {
  const m = new ModelGraph('text_encoder');
  const L = cfg.textEncoder.maxLength;
  m.input('input_ids', DataType.INT64, ['batch', L]);
  const out = emitTextEncoder(m, cfg.textEncoder, 'input_ids');
  m.rename(out, 'last_hidden_state');
  m.output('last_hidden_state', DataType.FLOAT, ['batch', L, cfg.textEncoder.hiddenSize]);
  m.addWeightsAsInitializers(weights);
  return m.builder.build(OPSET);
}

export function unetModel(cfg: BaseModelConfig, weights: Weights): OnnxModel {
  const m = new ModelGraph('unet');
  const u = cfg.unet;
  m.input('sample', DataType.FLOAT, ['batch', u.inChannels, u.imageSize, u.imageSize]);
  m.input('timestep', DataType.INT64, ['batch']);
  m.input('encoder_hidden_states', DataType.FLOAT, [
    'batch',
    cfg.textEncoder.maxLength,
    cfg.textEncoder.hiddenSize,
  ]);
  const out = emitUnet(m, u, { sample: 'sample', timestep: 'timestep', context: 'encoder_hidden_states' });
  m.rename(out, 'out_sample');
  m.output('out_sample', DataType.FLOAT, ['batch', u.inChannels, u.imageSize, u.imageSize]);
  m.addWeightsAsInitializers(weights);
  return m.builder.build(OPSET);
}

/** Pixel space "encoder": mean = the image, logvar = −30 (σ ≈ 3e−7), laid out [B, 2C, H, W] like AutoencoderKL. */
export function vaeEncoderModel(cfg: BaseModelConfig): OnnxModel {
  const m = new ModelGraph('vae_encoder');
  const { inChannels: c, imageSize: s } = cfg.unet;
  m.input('sample', DataType.FLOAT, ['batch', c, s, s]);
  const logvar = m.op('Add', [m.op('Mul', ['sample', m.scalar(0)], 'vae'), m.scalar(-30)], 'vae');
  m.builder.node('Concat', ['sample', logvar], ['latent_parameters'], { axis: { type: 'int', value: 1 } });
  m.output('latent_parameters', DataType.FLOAT, ['batch', 2 * c, s, s]);
  return m.builder.build(OPSET);
}

export function vaeDecoderModel(cfg: BaseModelConfig): OnnxModel {
  const m = new ModelGraph('vae_decoder');
  const { inChannels: c, imageSize: s } = cfg.unet;
  m.input('latent_sample', DataType.FLOAT, ['batch', c, s, s]);
  m.builder.node('Identity', ['latent_sample'], ['sample']);
  m.output('sample', DataType.FLOAT, ['batch', c, s, s]);
  return m.builder.build(OPSET);
}

export interface PretrainForward {
  readonly model: OnnxModel;
  readonly params: readonly ParamSpec[];
}

/**
 * Text encoder + UNet + loss = mean(w_b · (unet(noisy, t, te(ids)) − target)²), every weight a graph input.
 * Inputs: input_ids int64 [B, 77], noisy FLOAT [B, 3, S, S], timestep int64 [B], target FLOAT like noisy (ε or
 * v, whichever the UNet is trained to predict), loss_weight FLOAT [B, 1, 1, 1] (per-sample weights, e.g. min-SNR).
 */
export function pretrainForwardModel(cfg: BaseModelConfig): PretrainForward {
  const m = new ModelGraph('pretrain');
  const u = cfg.unet;
  const L = cfg.textEncoder.maxLength;
  m.input('input_ids', DataType.INT64, ['batch', L]);
  m.input('noisy', DataType.FLOAT, ['batch', u.inChannels, u.imageSize, u.imageSize]);
  m.input('timestep', DataType.INT64, ['batch']);
  m.input('target', DataType.FLOAT, ['batch', u.inChannels, u.imageSize, u.imageSize]);
  m.input('loss_weight', DataType.FLOAT, ['batch', 1, 1, 1]);
  const context = emitTextEncoder(m, cfg.textEncoder, 'input_ids');
  const pred = emitUnet(m, u, { sample: 'noisy', timestep: 'timestep', context });
  const diff = m.op('Sub', [pred, 'target'], 'loss');
  const weighted = m.op('Mul', [m.op('Mul', [diff, diff], 'loss'), 'loss_weight'], 'loss');
  m.builder.node('ReduceMean', [weighted], ['loss'], {
    keepdims: { type: 'int', value: 0 },
  });
  m.output('loss', DataType.FLOAT, []);
  m.addWeightsAsInputs();
  return { model: m.builder.build(OPSET), params: m.params };
}

/**
 * The textual-inversion objective on this model, built the way the trainer builds it: token table grown by a
 * `placeholder_rows` input [1, D], the same noised-sample MSE, weights as initializers. Inputs: input_ids,
 * placeholder_rows, noisy, timestep, noise. Used to time a TI step without the pipeline.
 */
export function textualInversionForwardModel(cfg: BaseModelConfig, weights: Weights): OnnxModel {
  const m = new ModelGraph('textual_inversion');
  const u = cfg.unet;
  const L = cfg.textEncoder.maxLength;
  m.input('input_ids', DataType.INT64, ['batch', L]);
  m.input('placeholder_rows', DataType.FLOAT, [1, cfg.textEncoder.hiddenSize]);
  m.input('noisy', DataType.FLOAT, ['batch', u.inChannels, u.imageSize, u.imageSize]);
  m.input('timestep', DataType.INT64, ['batch']);
  m.input('noise', DataType.FLOAT, ['batch', u.inChannels, u.imageSize, u.imageSize]);
  const context = emitTextEncoder(m, cfg.textEncoder, 'input_ids', 'placeholder_rows');
  const pred = emitUnet(m, u, { sample: 'noisy', timestep: 'timestep', context });
  const diff = m.op('Sub', [pred, 'noise'], 'loss');
  m.builder.node('ReduceMean', [m.op('Mul', [diff, diff], 'loss')], ['loss'], {
    keepdims: { type: 'int', value: 0 },
  });
  m.output('loss', DataType.FLOAT, []);
  m.addWeightsAsInitializers(weights);
  return m.builder.build(OPSET);
}
