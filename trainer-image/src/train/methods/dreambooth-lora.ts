// DreamBooth-LoRA as the DVAR paper ran it (cloneofsimo's lora_diffusion): the token row plus low-rank adapters
// y = x·Wᵀ + (α/r)·(x·Aᵀ)·Bᵀ beside the UNet's attention (and, with the paper's targets, GEGLU input) projections.
// A ~ N(0, (1/r)²), B = 0, so training starts at the base model. Writes `<token>-lora.safetensors` (kohya keys).

import { methodOutputNames } from '../../../../shared/keys.ts';
import type { LoraTargets } from '../../../../shared/methods.ts';
import { findProjections, LORA_TARGETS } from '../../onnx/attention-projections.ts';
import { addLoraAdapters } from '../../onnx/lora.ts';
import { loadNodeMetadata } from '../../onnx/node-metadata.ts';
import { writeLoraFile } from '../lora-file.ts';
import type { TrainingMethod } from './method.ts';

export interface LoraConfig {
  readonly rank: number;
  readonly alpha: number;
  readonly targets: LoraTargets;
}

const A_PREFIX = 'lora.A.';
const B_PREFIX = 'lora.B.';

/** `<token>-lora.safetensors`, from the one list of each method's files (shared/keys.ts). */
export function loraFileName(token: string): string {
  const name = methodOutputNames('dreambooth-lora', token)[1];
  if (!name) throw new Error('dreambooth-lora has no LoRA file in the output list');
  return name;
}

export function dreamboothLora(config: LoraConfig): TrainingMethod {
  const { rank, alpha, targets } = config;
  if (!Number.isInteger(rank) || rank < 1)
    throw new Error(`LoRA rank must be a positive integer (got ${rank})`);
  if (!(alpha > 0)) throw new Error(`LoRA alpha must be positive (got ${alpha})`);
  const scale = alpha / rank;
  return {
    name: 'dreambooth-lora',
    group: 'lora',
    fingerprint: { 'lora.rank': rank, 'lora.alpha': alpha, 'lora.targets': targets },
    unetSurgery(unet, source) {
      const projections = findProjections(unet, LORA_TARGETS[targets], {
        nodeMetadata: loadNodeMetadata(source.modelPath),
      });
      if (projections.length === 0) throw new Error('LoRA: the UNet has no attention projections to adapt');
      const { graph, inputs } = addLoraAdapters(unet, projections, { rank, scale });
      return { graph, inputs };
    },
    initial(tensor, rng) {
      const size = tensor.dims.reduce((a, b) => a * b, 1);
      // B = 0 keeps the start at the base model; A's spread (1/r) is lora_diffusion's init.
      if (tensor.name.startsWith(B_PREFIX)) return new Float32Array(size);
      if (tensor.name.startsWith(A_PREFIX)) return rng.normal(size).map((x) => x / rank);
      throw new Error(`LoRA: unknown tensor '${tensor.name}'`);
    },
    outputs(tensors, context) {
      const modules = tensors
        .filter((t) => t.name.startsWith(A_PREFIX))
        .map((a) => {
          const module = a.name.slice(A_PREFIX.length);
          const b = tensors.find((t) => t.name === `${B_PREFIX}${module}`);
          if (!b) throw new Error(`LoRA: no B for ${module}`);
          return {
            module,
            down: a.data,
            up: b.data,
            inFeatures: a.dims[1] ?? 0,
            outFeatures: b.dims[0] ?? 0,
          };
        });
      const body = writeLoraFile(modules, {
        rank,
        alpha,
        crossAttentionDim: context.hiddenSize,
        predictionType: context.predictionType,
        title: context.token,
        plateau: context.facts,
      });
      return [
        { key: `output/${loraFileName(context.token)}`, body, contentType: 'application/octet-stream' },
      ];
    },
  };
}
