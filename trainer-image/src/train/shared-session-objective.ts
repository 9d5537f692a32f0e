// The low-memory objective for full-size models: one onnxruntime session of the training graph with its backward
// pass gated (onnx/gate-backward.ts) serves the training step and the DVAR evaluation, so the weights are opened
// once; the eval batch runs in training-batch chunks (static shapes), its loss the mean of the chunk losses.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gateBackward } from '../onnx/gate-backward.ts';
import { DataType, type OnnxModel } from '../onnx/model.ts';
import type { Session, SessionOptions, TypedTensor } from '../runtime/session.ts';
import type { TrainBatch } from './batches.ts';
import type { LossAndGradient } from './objective.ts';

/** Pipelines whose UNet and text encoder files pass this many bytes train in low-memory mode by default. */
export const LOW_MEMORY_BYTES = 2 ** 30;

/** Bytes of the files under the UNet and text encoder folders (graphs and external data). */
export function denoiserBytes(pipelineDir: string): number {
  let total = 0;
  for (const component of ['unet', 'text_encoder']) {
    const dir = join(pipelineDir, component);
    for (const name of readdirSync(dir)) total += statSync(join(dir, name)).size;
  }
  return total;
}

/**
 * Session options that keep one copy of the weights: no pre-packed copies, no NCHWc-reordered conv weights
 * (an 'all'-level transform), no memory pattern (the evaluation's plan otherwise grows the arena by another
 * 1.7 GB at SD 1.5 / 256 px, docs/fullsize.md), and the parallel planner, which creates the session ~4× faster.
 */
export function lowMemorySessionOptions(base: SessionOptions): SessionOptions {
  return {
    ...base,
    optimization: 'extended',
    executionMode: 'parallel',
    interOpThreads: 1,
    memoryPattern: false,
    configEntries: { ...base.configEntries, 'session.disable_prepacking': '1' },
  };
}

/** Items [start, start + size) of a batch, as a batch. */
export function sliceBatch(batch: TrainBatch, start: number, size: number): TrainBatch {
  const per = batch.latents.length / batch.size;
  const L = batch.sequenceLength;
  return {
    ...batch,
    size,
    inputIds: batch.inputIds.slice(start * L, (start + size) * L),
    latents: batch.latents.slice(start * per, (start + size) * per),
    noise: batch.noise.slice(start * per, (start + size) * per),
    timesteps: batch.timesteps.slice(start, start + size),
    noisyLatents: batch.noisyLatents.slice(start * per, (start + size) * per),
    target: batch.target.slice(start * per, (start + size) * per),
    ...(batch.lossWeights
      ? {
          lossWeights: batch.lossWeights.slice(
            (start * batch.lossWeights.length) / batch.size,
            ((start + size) * batch.lossWeights.length) / batch.size,
          ),
        }
      : {}),
  };
}

export interface SharedObjective {
  readonly objective: LossAndGradient<TrainBatch>;
  release(): Promise<void>;
}

export interface SharedObjectiveSetup {
  /** The training graph (loss + gradient outputs). */
  readonly train: OnnxModel;
  readonly loss: string;
  /** The gradient outputs (static dims), gated together. */
  readonly gradients: readonly string[];
  /** The static batch `train` was built for, or undefined when its batch is symbolic (no chunking). */
  readonly chunk: number | undefined;
  /** Opens a session on a model (e.g. writing it beside external weights). */
  readonly open: (model: OnnxModel) => Promise<Session>;
  readonly feeds: (params: Float32Array, batch: TrainBatch) => Record<string, TypedTensor>;
  /** Packs the gradient outputs of one training run like `params`. */
  readonly pack: (outputs: Readonly<Record<string, TypedTensor>>) => Float32Array;
}

function scalar(tensor: TypedTensor | undefined): number {
  const value = tensor?.data[0];
  if (typeof value !== 'number') throw new Error('the training graph returned no float loss');
  return value;
}

export async function openSharedObjective(setup: SharedObjectiveSetup): Promise<SharedObjective> {
  const gated = gateBackward(setup.train, { ungated: [setup.loss], gated: setup.gradients });
  const session = await setup.open(gated.model);
  const flag = (on: boolean): Record<string, TypedTensor> => ({
    [gated.flag]: { dataType: DataType.BOOL, dims: [], data: new Uint8Array([on ? 1 : 0]) },
  });
  const forward = async (params: Float32Array, batch: TrainBatch): Promise<number> => {
    const out = await session.run({ ...setup.feeds(params, batch), ...flag(false) }, [setup.loss]);
    return scalar(out[setup.loss]);
  };
  return {
    objective: {
      async loss(params, batch) {
        const chunk = setup.chunk;
        if (chunk === undefined || chunk === batch.size) return forward(params, batch);
        if (batch.size % chunk !== 0) {
          throw new Error(
            `the eval batch (${batch.size}) must be a multiple of the training batch (${chunk})`,
          );
        }
        // Equal chunks: the mean of the chunk means is the mean over every element.
        let sum = 0;
        for (let start = 0; start < batch.size; start += chunk) {
          sum += await forward(params, sliceBatch(batch, start, chunk));
        }
        return sum / (batch.size / chunk);
      },
      async lossAndGradient(params, batch) {
        const out = await session.run({ ...setup.feeds(params, batch), ...flag(true) }, [
          setup.loss,
          ...setup.gradients,
        ]);
        return { loss: scalar(out[setup.loss]), gradient: setup.pack(out) };
      },
    },
    release: () => session.release(),
  };
}
