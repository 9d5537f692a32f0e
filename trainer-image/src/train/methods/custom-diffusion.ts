// Custom Diffusion (Kumari et al.) as the DVAR paper ran it: the token row plus every UNet cross-attention key and
// value weight (attn2.to_k / attn2.to_v, full [out, in] matrices starting at the base model's), with no gradient
// through K and V at token position 0. Writes diffusers' file and a kohya `.diff` file A1111 and ComfyUI load.
import { dirname } from 'node:path';
import { methodOutputNames } from '../../../../shared/keys.ts';
import { CUSTOM_DIFFUSION_KINDS, findProjections } from '../../onnx/attention-projections.ts';
import { type ExposedWeight, exposeWeights } from '../../onnx/expose-weights.ts';
import { loadNodeMetadata } from '../../onnx/node-metadata.ts';
import { weightOutIn } from '../../onnx/weight-values.ts';
import { type KvWeight, writeCustomDiffusionFile, writeKohyaDiffFile } from '../custom-diffusion-file.ts';
import type { TrainingMethod } from './method.ts';

export interface CustomDiffusionConfig {
  /** The class noun of the captions ("a photo of a <tok> cat") and of the class prompt. */
  readonly classWord: string;
  readonly classImages: number;
  readonly priorPreservation: boolean;
  readonly priorLossWeight: number;
  /**
   * Masked loss with random rescale (the Custom Diffusion code's augmentation, random-rescale.ts). The manifest's
   * default is on; absent here = off (gradcheck and tests that compare against unaugmented numbers).
   */
  readonly randomRescale?: boolean;
  /** Gradient-norm clip over all trained tensors together (the paper: 1.0). */
  readonly maxGradNorm: number;
  /**
   * Leading token positions whose K and V rows pass no gradient (the paper: 1, the start token). 0 turns the
   * detach off (gradcheck's plain goldens).
   */
  readonly detachPositions?: number;
}

const KV_PREFIX = 'kv.';

/** `pytorch_custom_diffusion_weights.safetensors` and `<token>-cd-delta.safetensors`, from shared/keys.ts. */
export function customDiffusionFileNames(token: string): {
  readonly weights: string;
  readonly delta: string;
} {
  const [, weights, delta] = methodOutputNames('custom-diffusion', token);
  if (!weights || !delta)
    throw new Error('custom-diffusion lacks its weight and delta files in the output list');
  return { weights, delta };
}

/** The caption of every training image: one template with the token and the class word (the paper's). */
export function customDiffusionCaption(token: string, classWord: string): string {
  return `a photo of a ${customDiffusionSubject(token, classWord)}`;
}

/** The concept as Custom Diffusion's captions and prompts name it: the token, then its class word. */
export function customDiffusionSubject(token: string, classWord: string): string {
  return `${token} ${classWord}`;
}

/** The class prompt: captions of the class images and the prompt they are generated from. */
export function customDiffusionClassPrompt(classWord: string): string {
  return `a photo of a ${classWord}`;
}

export function customDiffusion(config: CustomDiffusionConfig): TrainingMethod {
  const positions = config.detachPositions ?? 1;
  if (!Number.isInteger(positions) || positions < 0) {
    throw new Error(`detachPositions must be a non-negative integer (got ${positions})`);
  }
  if (!(config.maxGradNorm > 0)) throw new Error(`maxGradNorm must be positive (got ${config.maxGradNorm})`);
  // Where each K/V input's base weight lives, filled by the surgery: initial values and the delta file read it.
  const base = new Map<string, { readonly weight: ExposedWeight; readonly modelDir: string }>();
  const baseWeight = (input: string): Float32Array => {
    const found = base.get(input);
    if (!found)
      throw new Error(`Custom Diffusion: no base weight for '${input}' (the UNet surgery has not run)`);
    return weightOutIn(found.weight.initializer, found.weight.layout, found.modelDir);
  };
  return {
    name: 'custom-diffusion',
    group: 'kv',
    // The class images' count and weight join the fingerprint in personalize.ts, where they are known to be used.
    fingerprint: {
      'cd.classWord': config.classWord,
      'cd.maxGradNorm': config.maxGradNorm,
      'cd.detachPositions': positions,
      // Only when on, so checkpoints from before the option resume unchanged.
      ...(config.randomRescale ? { 'cd.randomRescale': true } : {}),
    },
    maxGradNorm: config.maxGradNorm,
    ...(config.randomRescale ? { randomRescale: true } : {}),
    caption: (token) => customDiffusionCaption(token, config.classWord),
    promptSubject: (token) => customDiffusionSubject(token, config.classWord),
    ...(config.priorPreservation && config.classImages > 0
      ? {
          prior: {
            prompt: customDiffusionClassPrompt(config.classWord),
            images: config.classImages,
            weight: config.priorLossWeight,
          },
        }
      : {}),
    unetSurgery(unet, source) {
      const projections = findProjections(unet, CUSTOM_DIFFUSION_KINDS, {
        nodeMetadata: loadNodeMetadata(source.modelPath),
      });
      if (projections.length === 0) throw new Error('Custom Diffusion: the UNet has no cross-attention K/V');
      const exposed = exposeWeights(unet, projections, positions > 0 ? { detach: { positions } } : {});
      const modelDir = dirname(source.modelPath);
      for (const weight of exposed.weights) base.set(weight.input, { weight, modelDir });
      return {
        graph: exposed.graph,
        inputs: exposed.inputs,
        constants: exposed.weights.flatMap((w) =>
          w.detachedInput ? [{ name: w.detachedInput, feedFrom: w.input }] : [],
        ),
      };
    },
    // The base model's own weights: training starts exactly at the base model (no random draws).
    initial: (tensor) => baseWeight(tensor.name),
    outputs(tensors, context) {
      const weights: KvWeight[] = tensors.map((t) => {
        if (!t.name.startsWith(KV_PREFIX)) throw new Error(`Custom Diffusion: unknown tensor '${t.name}'`);
        const [outFeatures, inFeatures] = t.dims;
        if (t.dims.length !== 2 || outFeatures === undefined || inFeatures === undefined) {
          throw new Error(`Custom Diffusion: '${t.name}' is not a matrix`);
        }
        return { module: t.name.slice(KV_PREFIX.length), weight: t.data, inFeatures, outFeatures };
      });
      const names = customDiffusionFileNames(context.token);
      const delta = writeKohyaDiffFile(weights, (module) => baseWeight(`${KV_PREFIX}${module}`), {
        title: context.token,
        crossAttentionDim: context.hiddenSize,
        predictionType: context.predictionType,
        plateau: context.facts,
      });
      return [
        {
          key: `output/${names.weights}`,
          body: writeCustomDiffusionFile(weights),
          contentType: 'application/octet-stream',
        },
        { key: `output/${names.delta}`, body: delta, contentType: 'application/octet-stream' },
      ];
    },
  };
}
