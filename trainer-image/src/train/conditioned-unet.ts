// The text-conditioned denoiser every sampler draws with: the pipeline's text encoder with the learned token
// row(s) spliced into its table (surgery's splice, as in training) and the UNet with the method's trained
// tensors applied by the method's own surgery (LoRA, Custom Diffusion), on onnxruntime. The trainer's validation
// sampler and the models' pixel-space sampler (models/src/sampler) both sit on it, so what a sample shows is
// exactly what was trained.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadModel } from '../onnx/codec.ts';
import { DataType, type OnnxGraph, type ValueInfo } from '../onnx/model.ts';
import { findTokenEmbedding, spliceEmbeddingRows } from '../onnx/surgery.ts';
import { Session, type SessionOptions, type TypedTensor } from '../runtime/session.ts';
import type { NamedTensor } from './methods/method.ts';
import { loadTokenizer, type TextTokenizer } from './tokenizer.ts';
import { sessionSource, type UnetSurgery } from './training-graph.ts';

export interface LearnedToken {
  readonly token: string;
  /** The learned rows, [nVectors × D] (nVectors = 1). */
  readonly rows: Float32Array;
  /**
   * The method's trained UNet tensors (LoRA A/B, Custom Diffusion K/V) and the rewrite that makes them UNet
   * inputs — the same surgery the training graph used. Absent for textual inversion.
   */
  readonly unet?: { readonly surgery: UnetSurgery; readonly tensors: readonly NamedTensor[] };
}

export interface ConditionedUnet {
  readonly tokenizer: TextTokenizer;
  /** [C, h, w] the UNet denoises (latents, or pixels for a pixel-space model). */
  readonly sampleShape: readonly [number, number, number];
  /** Text encoder hidden states for the prompts, [B, L, D]. */
  encode(prompts: readonly string[]): Promise<TypedTensor>;
  /** The UNet's output for x [B, C, h, w] at one timestep t with the given hidden states (B rows). */
  predict(x: Float32Array, batch: number, t: number, hidden: TypedTensor): Promise<Float32Array>;
  release(): Promise<void>;
}

function input(graph: OnnxGraph, name: string, position: number, component: string): ValueInfo {
  const found = graph.inputs.find((i) => i.name === name) ?? graph.inputs[position];
  if (!found) throw new Error(`${component}: no input '${name}'`);
  return found;
}

/** A number from a component's config.json, or undefined when the file or the key is missing. */
export function configNumber(path: string, key: string): number | undefined {
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof config !== 'object' || config === null || !(key in config)) return undefined;
  const value: unknown = (config as Record<string, unknown>)[key];
  return typeof value === 'number' ? value : undefined;
}

function integerTensor(dataType: number, dims: readonly number[], value: number): TypedTensor {
  const count = dims.reduce((a, b) => a * b, 1);
  if (dataType === DataType.INT64)
    return { dataType, dims, data: new BigInt64Array(count).fill(BigInt(value)) };
  if (dataType === DataType.INT32) return { dataType, dims, data: new Int32Array(count).fill(value) };
  if (dataType === DataType.FLOAT) return { dataType, dims, data: new Float32Array(count).fill(value) };
  if (dataType === DataType.DOUBLE) return { dataType, dims, data: new Float64Array(count).fill(value) };
  throw new Error(`unet: timestep data type ${dataType} is not supported`);
}

/** A session for `graph` (external weights stay where they are; a temporary model file is removed at once). */
async function sessionFor(
  model: ReturnType<typeof loadModel>,
  graph: OnnxGraph,
  dir: string,
  options: SessionOptions,
): Promise<Session> {
  const source = sessionSource({ ...model, graph }, dir);
  try {
    return await Session.create(source, options);
  } finally {
    if (typeof source === 'string') rmSync(source, { force: true });
  }
}

/** Opens the text encoder (with the learned rows when given) and the UNet (with the method's tensors). */
export async function openConditionedUnet(
  pipelineDir: string,
  learned: LearnedToken | undefined,
  sessionOptions: SessionOptions,
): Promise<ConditionedUnet> {
  const tokenizer = await loadTokenizer(join(pipelineDir, 'tokenizer'));
  const teDir = join(pipelineDir, 'text_encoder');
  const te = loadModel(join(teDir, 'model.onnx'));
  const ids = input(te.graph, 'input_ids', 0, 'text encoder');
  const teOut = te.graph.outputs.find((o) => o.name === 'last_hidden_state') ?? te.graph.outputs[0];
  if (!teOut) throw new Error('text encoder: no output');
  const rowsInput = 'plateau_learned_rows';
  let textEncoder: Session;
  let rowsFeed: Record<string, TypedTensor> = {};
  if (learned) {
    const placeholderId = await tokenizer.addPlaceholderToken(learned.token);
    const hiddenSize = findTokenEmbedding(te.graph, ids.name).table.dims[1] ?? 0;
    const nRows = hiddenSize > 0 ? learned.rows.length / hiddenSize : 0;
    if (!Number.isInteger(nRows) || nRows < 1) {
      throw new Error(
        `learned rows (${learned.rows.length} values) do not fit the hidden size ${hiddenSize}`,
      );
    }
    const spliced = spliceEmbeddingRows(te.graph, { idsInput: ids.name, rowsInput, nRows });
    if (placeholderId !== spliced.vocabSize) {
      throw new Error(
        `the tokenizer gives ${learned.token} the id ${placeholderId} but the text encoder's table has ` +
          `${spliced.vocabSize} rows: tokenizer and text encoder do not belong together`,
      );
    }
    textEncoder = await sessionFor(te, { ...spliced.graph, outputs: [teOut] }, teDir, sessionOptions);
    rowsFeed = { [rowsInput]: { dataType: DataType.FLOAT, dims: [nRows, hiddenSize], data: learned.rows } };
  } else {
    textEncoder = await sessionFor(te, { ...te.graph, outputs: [teOut] }, teDir, sessionOptions);
  }

  // The UNet's input names, dtypes and timestep rank come from the model; its weights are only read by ORT.
  const unetDir = join(pipelineDir, 'unet');
  const unetPath = join(unetDir, 'model.onnx');
  const unetModel = loadModel(unetPath);
  const unetGraph = unetModel.graph;
  const sample = input(unetGraph, 'sample', 0, 'unet');
  const timestep = input(unetGraph, 'timestep', 1, 'unet');
  const context = input(unetGraph, 'encoder_hidden_states', 2, 'unet');
  const unetOut = unetGraph.outputs.find((o) => o.name === 'out_sample') ?? unetGraph.outputs[0];
  if (sample.dataType !== DataType.FLOAT) throw new Error('only float32 UNets are supported for sampling');
  if (!unetOut) throw new Error('unet: no output');
  let unet: Session;
  const methodFeeds: Record<string, TypedTensor> = {};
  if (learned?.unet) {
    const rewritten = learned.unet.surgery(unetGraph, { modelPath: unetPath });
    for (const added of rewritten.inputs) {
      const tensor = learned.unet.tensors.find((t) => t.name === added.name);
      if (!tensor) throw new Error(`sampler: no trained values for the UNet input '${added.name}'`);
      methodFeeds[added.name] = { dataType: DataType.FLOAT, dims: tensor.dims, data: tensor.data };
    }
    // Constant twins (Custom Diffusion's detach) take their trainable's values; sampling has no gradient anyway.
    for (const c of rewritten.constants ?? []) {
      const fed = methodFeeds[c.feedFrom];
      if (!fed) throw new Error(`sampler: no trained values for '${c.feedFrom}' (feeds '${c.name}')`);
      methodFeeds[c.name] = fed;
    }
    unet = await sessionFor(unetModel, rewritten.graph, unetDir, sessionOptions);
  } else {
    unet = await Session.create(unetPath, sessionOptions);
  }

  // Channels and size from the UNet config (diffusers), else the input's static dims.
  const staticDim = (k: number): number | undefined => {
    const d = sample.dims?.[k];
    return typeof d === 'number' && d > 0 ? d : undefined;
  };
  const unetConfig = join(unetDir, 'config.json');
  const channels: number = configNumber(unetConfig, 'in_channels') ?? staticDim(1) ?? 4;
  const size: number = configNumber(unetConfig, 'sample_size') ?? staticDim(2) ?? 64;
  const sampleShape = [channels, size, size] as const;
  const per = channels * size * size;

  return {
    tokenizer,
    sampleShape,
    async encode(prompts) {
      const L = tokenizer.maxLength;
      const values: number[] = [];
      for (const prompt of prompts) values.push(...(await tokenizer.encode(prompt)));
      const data =
        ids.dataType === DataType.INT32
          ? Int32Array.from(values)
          : BigInt64Array.from(values, (v) => BigInt(v));
      const out = await textEncoder.run(
        { [ids.name]: { dataType: ids.dataType, dims: [prompts.length, L], data }, ...rowsFeed },
        [teOut.name],
      );
      const hidden = out[teOut.name];
      if (!hidden) throw new Error('text encoder returned no hidden states');
      return hidden;
    },
    async predict(x, batch, t, hidden) {
      const tDims = timestep.dims?.length === 0 ? [] : [timestep.dims?.[0] === 1 ? 1 : batch];
      const out = await unet.run(
        {
          [sample.name]: { dataType: DataType.FLOAT, dims: [batch, ...sampleShape], data: x },
          [timestep.name]: integerTensor(timestep.dataType, tDims, t),
          [context.name]: hidden,
          ...methodFeeds,
        },
        [unetOut.name],
      );
      const pred = out[unetOut.name]?.data;
      if (!(pred instanceof Float32Array) || pred.length !== batch * per) {
        throw new Error('unet returned no float prediction of the sample shape');
      }
      return pred;
    },
    async release() {
      await Promise.all([textEncoder.release(), unet.release()]);
    },
  };
}
