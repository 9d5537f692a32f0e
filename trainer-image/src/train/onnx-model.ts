// The real TrainingModel on onnxruntime: the merged training graph (loss + d loss / d every trainable: the
// placeholder rows and the method's tensors) and its loss-only twin from training-graph.ts in two sessions — the
// deterministic evaluation is one forward pass of the eval batch, nothing more — plus the VAE encoder, and the
// initializer token's embedding row as the start. Trainables arrive packed and are fed as zero-copy views.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readTensorBytes } from '../onnx/external-data.ts';
import { assertFitsGpu } from '../onnx/gpu-fit.ts';
import { estimateMemory } from '../onnx/memory-estimate.ts';
import { DataType, defaultOpset, type OnnxModel, type OnnxTensor } from '../onnx/model.ts';
import { Session, sessionOptionsFor, type TypedTensor } from '../runtime/session.ts';
import type { TrainBatch } from './batches.ts';
import type { ModelRequest, TrainingModel } from './personalize.ts';
import {
  denoiserBytes,
  LOW_MEMORY_BYTES,
  lowMemorySessionOptions,
  openSharedObjective,
  type SharedObjective,
} from './shared-session-objective.ts';
import { CLIP_MAX_LENGTH } from './tokenizer.ts';
import { buildTrainingGraph, LOSS_WEIGHTS, sessionSource, type TrainingGraph } from './training-graph.ts';
import { openVaeEncoder } from './vae-encoder.ts';

export interface OnnxModelOptions {
  readonly device?: 'auto' | 'cuda' | 'cpu';
  readonly intraOpThreads?: number;
  /**
   * One session for training and evaluation with the weights opened once (shared-session-objective.ts). Default:
   * on for pipelines whose UNet and text encoder pass LOW_MEMORY_BYTES (full-size SD).
   */
  readonly lowMemory?: boolean;
  /**
   * The GPU memory of the instance this runs on (the job definition says it, from shared/gpu-instances.ts):
   * when set, `assertFits` refuses a job whose step would not fit, before the first step.
   */
  readonly gpuMemoryBytes?: number;
}

/** Row `id` of a FLOAT [V, D] embedding table stored inline or in an external-data file. */
function tableRow(table: OnnxTensor, id: number, modelDir: string): Float32Array {
  const [rows, width] = table.dims;
  if (table.dataType !== DataType.FLOAT || rows === undefined || width === undefined) {
    throw new Error(
      `token embedding '${table.name}' must be FLOAT [V, D] (float16 text encoders are not supported yet)`,
    );
  }
  if (id < 0 || id >= rows) throw new Error(`token id ${id} is outside the embedding table (${rows} rows)`);
  const bytes = readTensorBytes(table, modelDir, id * width * 4, width * 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float32Array.from({ length: width }, (_, i) => view.getFloat32(i * 4, true));
}

function integers(dataType: number, values: readonly number[], what: string): TypedTensor['data'] {
  if (dataType === DataType.INT64) return BigInt64Array.from(values, (v) => BigInt(v));
  if (dataType === DataType.INT32) return Int32Array.from(values);
  if (dataType === DataType.FLOAT) return Float32Array.from(values);
  if (dataType === DataType.DOUBLE) return Float64Array.from(values);
  throw new Error(`${what}: input data type ${dataType} is not supported`);
}

/** The batch's [B, 1, h, w] loss weights; a graph built with them refuses a batch without. */
function lossWeightsFeed(batch: TrainBatch): TypedTensor {
  const [, h, w] = batch.latentShape;
  if (!batch.lossWeights || batch.lossWeights.length !== batch.size * h * w) {
    throw new Error(
      `the training graph takes loss weights [${batch.size}, 1, ${h}, ${w}]; the batch has none`,
    );
  }
  return { dataType: DataType.FLOAT, dims: [batch.size, 1, h, w], data: batch.lossWeights };
}

export async function loadOnnxModel(
  request: ModelRequest,
  options: OnnxModelOptions = {},
): Promise<TrainingModel> {
  // Training steps always run at batchSize and the forward graph only evaluates the fixed DVAR batch, so both
  // batches are static when the request says so (session creation is then seconds instead of tens of seconds).
  const lowMemory = options.lowMemory ?? denoiserBytes(request.pipelineDir) >= LOW_MEMORY_BYTES;
  // Low memory: one static batch serves both when the eval batch is a multiple of it, else the batch is symbolic.
  const sharedBatch =
    request.batchSize !== undefined && (request.evalBatchSize ?? request.batchSize) % request.batchSize === 0;
  const graph = buildTrainingGraph(request.pipelineDir, {
    nVectors: request.nVectors,
    ...(request.batchSize === undefined || (lowMemory && !sharedBatch)
      ? {}
      : { batchSize: request.batchSize }),
    ...(request.evalBatchSize === undefined || lowMemory ? {} : { forwardBatchSize: request.evalBatchSize }),
    ...(lowMemory ? { frozenWeights: 'reference' as const } : {}),
    ...(request.snrGamma === undefined ? {} : { snrGamma: request.snrGamma }),
    ...(request.lossWeights ? { lossWeights: true } : {}),
    ...(request.unetSurgery ? { unetSurgery: request.unetSurgery } : {}),
  });
  if (graph.placeholderIds[0] !== request.placeholderId) {
    throw new Error(
      `the tokenizer gives the placeholder id ${request.placeholderId} but the text encoder's token table has ` +
        `${graph.vocabSize} rows: tokenizer and text encoder do not belong together`,
    );
  }
  if (graph.inputDataTypes.latents !== DataType.FLOAT) {
    throw new Error('only float32 UNets are supported for training (this one takes another sample type)');
  }
  // The token table the trainable rows extend (surgery's splice reads it next to the rows).
  const table = graph.forward.graph.initializers.find((t) => t.name === graph.tokenTable);
  if (!table) throw new Error('the training graph has no token table next to the placeholder rows');
  const initializerRow = tableRow(table, request.initializerId, join(request.pipelineDir, 'text_encoder'));
  const initialRows = new Float32Array(request.nVectors * graph.hiddenSize);
  for (let v = 0; v < request.nVectors; v++) initialRows.set(initializerRow, v * graph.hiddenSize);

  const chosen = sessionOptionsFor(options);
  const sessionOptions = lowMemory ? lowMemorySessionOptions(chosen) : chosen;
  const open = async (model: typeof graph.train): Promise<Session> => {
    const source = sessionSource(model, graph.modelDir);
    try {
      return await Session.create(source, sessionOptions);
    } finally {
      // A graph with external weights was written into the pipeline folder only for onnxruntime to read it.
      if (typeof source === 'string') rmSync(source, { force: true });
    }
  };
  const vae = await openVaeEncoder(request.pipelineDir, chosen);

  const { inputs, inputDataTypes: types } = graph;
  // Packing order: the rows, then the method's tensors as the graph lists them.
  const rowsSize = request.nVectors * graph.hiddenSize;
  const slots: { name: string; dims: readonly number[]; gradient: string; offset: number; size: number }[] = [
    {
      name: inputs.rows,
      dims: [request.nVectors, graph.hiddenSize],
      gradient: graph.gradient,
      offset: 0,
      size: rowsSize,
    },
  ];
  for (const t of graph.methodTrainables) {
    const last = slots[slots.length - 1]!;
    slots.push({ ...t, offset: last.offset + last.size, size: t.dims.reduce((a, b) => a * b, 1) });
  }
  const packedSize = slots.reduce((n, slot) => n + slot.size, 0);
  const gradientNames = slots.map((slot) => slot.gradient);
  const feeds = (params: Float32Array, batch: TrainBatch): Record<string, TypedTensor> => {
    if (params.length !== packedSize) {
      throw new Error(`the model takes ${packedSize} trainable values, got ${params.length}`);
    }
    const latentDims = [batch.size, ...batch.latentShape];
    const trainables: Record<string, TypedTensor> = {};
    for (const slot of slots) {
      trainables[slot.name] = {
        dataType: DataType.FLOAT,
        dims: slot.dims,
        data: params.subarray(slot.offset, slot.offset + slot.size),
      };
    }
    // Detach twins read the same view as their trainable: no copy, the autodiff just never differentiates them.
    for (const c of graph.constantFeeds) {
      const fed = trainables[c.feedFrom];
      if (!fed) throw new Error(`constant input '${c.name}': no trainable '${c.feedFrom}' to feed it from`);
      trainables[c.name] = fed;
    }
    return {
      ...trainables,
      [inputs.inputIds]: {
        dataType: types.inputIds,
        dims: [batch.size, batch.sequenceLength],
        data: integers(types.inputIds, batch.inputIds, 'input_ids'),
      },
      [inputs.latents]: { dataType: DataType.FLOAT, dims: latentDims, data: batch.latents },
      [inputs.noise]: { dataType: DataType.FLOAT, dims: latentDims, data: batch.noise },
      [inputs.timesteps]: {
        dataType: types.timesteps,
        dims: [batch.size],
        data: integers(types.timesteps, batch.timesteps, 'timesteps'),
      },
      ...(graph.lossWeights ? { [LOSS_WEIGHTS]: lossWeightsFeed(batch) } : {}),
    };
  };
  const pack = (out: Readonly<Record<string, TypedTensor>>): Float32Array => {
    const gradient = new Float32Array(packedSize);
    for (const slot of slots) {
      const part = out[slot.gradient]?.data;
      if (!(part instanceof Float32Array) || part.length !== slot.size) {
        throw new Error(
          `the training graph returned no float gradient of ${slot.size} values for ${slot.name}`,
        );
      }
      gradient.set(part, slot.offset);
    }
    return gradient;
  };
  const { objective, release } = lowMemory
    ? await openSharedObjective({
        train: graph.train,
        loss: graph.loss,
        gradients: gradientNames,
        chunk: sharedBatch ? request.batchSize : undefined,
        open,
        feeds,
        pack,
      })
    : await openTwoSessions(graph, open, feeds, gradientNames, pack);

  return {
    hiddenSize: graph.hiddenSize,
    initialRows,
    methodTensors: graph.methodTrainables.map((t) => ({ name: t.name, dims: t.dims })),
    encodeVae: vae.encode,
    objective,
    ...(options.gpuMemoryBytes === undefined
      ? {}
      : {
          assertFits(latentShape: readonly [number, number, number]) {
            const batch = request.batchSize ?? 1;
            const latentDims = [batch, ...latentShape];
            const estimate = estimateMemory(graph.train.graph, defaultOpset(graph.train), {
              [graph.inputs.inputIds]: [batch, CLIP_MAX_LENGTH],
              [graph.inputs.latents]: latentDims,
              [graph.inputs.noise]: latentDims,
              [graph.inputs.timesteps]: [batch],
              [graph.inputs.rows]: [request.nVectors, graph.hiddenSize],
              ...(graph.lossWeights ? { [LOSS_WEIGHTS]: [batch, 1, latentShape[1], latentShape[2]] } : {}),
            });
            assertFitsGpu(
              estimate,
              options.gpuMemoryBytes ?? 0,
              `this job's training step (batch ${batch}, ${latentShape[1]}×${latentShape[2]} latents)`,
            );
          },
        }),
    async release() {
      await Promise.all([release(), vae.release()]);
    },
  };
}

/** The default objective: the training graph and its loss-only twin in two sessions (each opens the weights). */
async function openTwoSessions(
  graph: TrainingGraph,
  open: (model: OnnxModel) => Promise<Session>,
  feeds: (params: Float32Array, batch: TrainBatch) => Record<string, TypedTensor>,
  gradientNames: readonly string[],
  pack: (out: Readonly<Record<string, TypedTensor>>) => Float32Array,
): Promise<SharedObjective> {
  const train = await open(graph.train);
  const forward = await open(graph.forward);
  const scalar = (tensor: TypedTensor | undefined): number => {
    const value = tensor?.data[0];
    if (typeof value !== 'number') throw new Error('the training graph returned no float loss');
    return value;
  };
  return {
    objective: {
      async loss(params, batch) {
        const out = await forward.run(feeds(params, batch), [graph.loss]);
        return scalar(out[graph.loss]);
      },
      async lossAndGradient(params, batch) {
        const out = await train.run(feeds(params, batch), [graph.loss, ...gradientNames]);
        return { loss: scalar(out[graph.loss]), gradient: pack(out) };
      },
    },
    release: async () => {
      await Promise.all([train.release(), forward.release()]);
    },
  };
}
