// The real TiModel on onnxruntime: the merged training graph (loss + d loss / d placeholder rows) and its
// loss-only twin from training-graph.ts in two sessions — the deterministic evaluation is one forward pass of
// the eval batch, nothing more — plus the VAE encoder, and the initializer token's embedding row as the start.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readTensorBytes } from '../onnx/external-data.ts';
import { DataType, type OnnxModel, type OnnxTensor } from '../onnx/model.ts';
import { Session, sessionOptionsFor, type TypedTensor } from '../runtime/session.ts';
import {
  denoiserBytes,
  LOW_MEMORY_BYTES,
  lowMemorySessionOptions,
  openSharedObjective,
  type SharedObjective,
} from './shared-session-objective.ts';
import type { TiModel, TiModelRequest } from './textual-inversion.ts';
import type { TiBatch } from './ti-batches.ts';
import { buildTextualInversionGraph, sessionSource, type TextualInversionGraph } from './training-graph.ts';
import { openVaeEncoder } from './vae-encoder.ts';

export interface OnnxTiModelOptions {
  readonly device?: 'auto' | 'cuda' | 'cpu';
  readonly intraOpThreads?: number;
  /**
   * One session for training and evaluation with the weights opened once (shared-session-objective.ts). Default:
   * on for pipelines whose UNet and text encoder pass LOW_MEMORY_BYTES (full-size SD).
   */
  readonly lowMemory?: boolean;
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

export async function loadOnnxTiModel(
  request: TiModelRequest,
  options: OnnxTiModelOptions = {},
): Promise<TiModel> {
  // Training steps always run at batchSize and the forward graph only evaluates the fixed DVAR batch, so both
  // batches are static when the request says so (session creation is then seconds instead of tens of seconds).
  const lowMemory = options.lowMemory ?? denoiserBytes(request.pipelineDir) >= LOW_MEMORY_BYTES;
  // Low memory: one static batch serves both when the eval batch is a multiple of it, else the batch is symbolic.
  const sharedBatch =
    request.batchSize !== undefined && (request.evalBatchSize ?? request.batchSize) % request.batchSize === 0;
  const graph = buildTextualInversionGraph(request.pipelineDir, {
    nVectors: request.nVectors,
    ...(request.batchSize === undefined || (lowMemory && !sharedBatch)
      ? {}
      : { batchSize: request.batchSize }),
    ...(request.evalBatchSize === undefined || lowMemory ? {} : { forwardBatchSize: request.evalBatchSize }),
    ...(lowMemory ? { frozenWeights: 'reference' as const } : {}),
    ...(request.snrGamma === undefined ? {} : { snrGamma: request.snrGamma }),
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
  const feeds = (rows: Float32Array, batch: TiBatch): Record<string, TypedTensor> => {
    const latentDims = [batch.size, ...batch.latentShape];
    return {
      [inputs.rows]: { dataType: DataType.FLOAT, dims: [request.nVectors, graph.hiddenSize], data: rows },
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
    };
  };
  const { objective, release } = lowMemory
    ? await openSharedObjective({
        train: graph.train,
        loss: graph.loss,
        gradient: graph.gradient,
        chunk: sharedBatch ? request.batchSize : undefined,
        open,
        feeds,
      })
    : await openTwoSessions(graph, open, feeds);
  return {
    hiddenSize: graph.hiddenSize,
    initialRows,
    encodeVae: vae.encode,
    objective,
    async release() {
      await Promise.all([release(), vae.release()]);
    },
  };
}

/** The default objective: the training graph and its loss-only twin in two sessions (each opens the weights). */
async function openTwoSessions(
  graph: TextualInversionGraph,
  open: (model: OnnxModel) => Promise<Session>,
  feeds: (rows: Float32Array, batch: TiBatch) => Record<string, TypedTensor>,
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
      async loss(rows, batch) {
        const out = await forward.run(feeds(rows, batch), [graph.loss]);
        return scalar(out[graph.loss]);
      },
      async lossAndGradient(rows, batch) {
        const out = await train.run(feeds(rows, batch), [graph.loss, graph.gradient]);
        const gradient = out[graph.gradient]?.data;
        if (!(gradient instanceof Float32Array) || gradient.length !== rows.length) {
          throw new Error(`the training graph returned no float gradient of ${rows.length} values`);
        }
        return { loss: scalar(out[graph.loss]), gradient: Float32Array.from(gradient) };
      },
    },
    release: async () => {
      await Promise.all([train.release(), forward.release()]);
    },
  };
}
