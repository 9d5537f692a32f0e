// The training graph of every method: text encoder (token table grown by the trainable rows) + DDPM noising +
// UNet + MSE loss merged into one ONNX graph with prefixed names ('te/', 'unet/'), differentiated by our autodiff.
//
// Inputs (feed all of them; dtypes in `TrainingGraph.inputs`):
//   placeholder_rows  FLOAT [nVectors, D]   the new token rows (ids vocabSize .. vocabSize+nVectors−1)
//   input_ids         text encoder's dtype   [B, 77] tokenized prompts using those ids
//   latents           UNet sample dtype      [B, 4, h, w] VAE latents × scaling factor
//   noise             UNet sample dtype      [B, 4, h, w] ε ~ N(0, 1)
//   timesteps         UNet timestep dtype    [B] in [0, T); ᾱ_t comes from a constant table Gathered in-graph
//   loss_weights      FLOAT [B, 1, h, w]     only with `lossWeights`: each squared error × its cell's weight
//   unet/<conv_in weight>  only with wrt 'conv_in': the weight is then an input instead of an initializer
//   <method tensors>  FLOAT, as the method's UNet surgery declares them (LoRA A/B, Custom Diffusion K/V)
// Outputs: `loss` (scalar FLOAT, mean over all elements of (unet(noisy, t, te(ids)) − target)², target ε or v
// from scheduler_config.json) and, in `train` only, `gradient` = d loss / d the trainable input plus
// `gradient/<name>` for each method tensor.
// `forward` has the same inputs and only `loss` (timing and the deterministic DVAR evaluation).
// External weights stay in their files; `sessionSource` says how to hand a graph to onnxruntime (see there).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildGradientGraph } from '../autodiff/build-gradient-graph.ts';
import type { GradRegistry } from '../autodiff/registry.ts';
import { encodeModel, loadModel } from '../onnx/codec.ts';
import { readTensorBytes } from '../onnx/external-data.ts';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { DataType, defaultOpset, type OnnxGraph, type OnnxModel, type ValueInfo } from '../onnx/model.ts';
import {
  hasExternalData,
  mergeGraphs,
  prefixGraph,
  pruneGraph,
  spliceEmbeddingRows,
} from '../onnx/surgery.ts';
import { decodeValues } from '../onnx/tensor-values.ts';
import { upcastFp16 } from '../onnx/upcast-fp16.ts';
import { type DdpmSchedule, minSnrWeight, type PredictionType, parseSchedulerConfig } from './ddpm.ts';

export type TrainableChoice = 'placeholder' | 'conv_in';

export interface TrainingGraphOptions {
  readonly wrt?: TrainableChoice;
  /** Vectors per token (default 1). */
  readonly nVectors?: number;
  readonly registry?: GradRegistry;
  /** Also build `check`: one graph with the placeholder, conv_in and encoder_hidden_states gradients (gradcheck). */
  readonly check?: boolean;
  /**
   * The batch the `train` and `check` graphs will be fed (`forward` keeps its symbolic batch for any evaluation
   * batch). Known sizes let shape inference and onnxruntime fold the shape arithmetic, and onnxruntime's memory
   * planner match buffers by size: the tiny-sd15topo training session then starts ~5× faster
   * (bench/gradcheck/session-create.ts). Default: the exported symbolic batch.
   */
  readonly batchSize?: number;
  /** The batch `forward` will be fed, fixed likewise (default: symbolic, for any evaluation batch). */
  readonly forwardBatchSize?: number;
  /**
   * Min-SNR-γ loss weights (Hang et al., 2023): each sample's squared error is weighted by min(SNR_t, γ)/SNR_t
   * (ε targets) or min(SNR_t, γ)/(SNR_t + 1) (v targets), gathered by timestep inside the graph. Absent: the plain
   * MSE of the paper (and of golden.json). Why: at small t the target is mostly what no token can predict (image
   * texture hidden in small noise), and that term otherwise dominates the gradient.
   */
  readonly snrGamma?: number;
  /**
   * The latent side (resolution / 8) the `train` graph will be fed, fixed like the batch: every activation then
   * has a static size (memory estimates) and unbroadcasting needs no run-time axis search. Default: symbolic.
   */
  readonly latentSize?: number;
  /**
   * A `loss_weights` input [B, 1, h, w] that multiplies each squared error (broadcast over channels) before the
   * mean: Custom Diffusion's masked loss and a prior loss weight other than 1 (batches.ts builds the weights).
   * Absent: the plain mean.
   */
  readonly lossWeights?: boolean;
  /** How backward nodes read frozen weights (GradientGraphOptions.frozenWeights; default 'fold'). */
  readonly frozenWeights?: 'fold' | 'reference';
  /**
   * The method's rewrite of the UNet (methods/): it turns the method's tensors into graph inputs, which are then
   * trained beside the placeholder rows. The same rewrite serves the validation sampler. Absent: textual inversion.
   */
  readonly unetSurgery?: UnetSurgery;
}

/**
 * A rewrite of the UNet graph that adds trainable FLOAT inputs (their names are kept unprefixed). `modelPath` is
 * the UNet's model.onnx, for what the IR does not carry (a dynamo export's module names in node metadata).
 */
export type UnetSurgery = (unet: OnnxGraph, source: { readonly modelPath: string }) => UnetSurgeryResult;

export interface UnetSurgeryResult {
  readonly graph: OnnxGraph;
  /** The trainable inputs the rewrite added. */
  readonly inputs: readonly ValueInfo[];
  /**
   * Inputs the autodiff must treat as constants though they carry a trainable's values (Custom Diffusion's
   * position-0 detach twins): each is fed the very buffer of `feedFrom` and never differentiated.
   */
  readonly constants?: readonly ConstantFeed[];
}

/** A graph input fed with the values of the trainable input `feedFrom` (same shape, same buffer). */
export interface ConstantFeed {
  readonly name: string;
  readonly feedFrom: string;
}

/** A method tensor of the training graph: its input name, shape and the `train` output with its gradient. */
export interface MethodTrainable {
  readonly name: string;
  readonly dims: readonly number[];
  readonly gradient: string;
}

/** The gradcheck graph: inputs as `forward` plus the conv_in weight; outputs loss and three gradients. */
export interface CheckGraph {
  readonly model: OnnxModel;
  /** Output names of d loss / d placeholder_rows, conv_in.weight and the text encoder output. */
  readonly gradients: {
    readonly placeholder: string;
    readonly conv_in: string;
    readonly encoder_hidden_states: string;
  };
  readonly convInWeight: string;
  readonly convInDims: readonly number[];
  readonly convInInitial: Float32Array;
}

export interface GraphInputs {
  readonly rows: string;
  readonly inputIds: string;
  readonly latents: string;
  readonly noise: string;
  readonly timesteps: string;
}

/** The loss-weight input's name (TrainingGraphOptions.lossWeights). */
export const LOSS_WEIGHTS = 'loss_weights';

export interface TrainingGraph {
  readonly train: OnnxModel;
  readonly forward: OnnxModel;
  readonly inputs: GraphInputs;
  /** ONNX data types of the inputs (input_ids and timesteps as the exported models declare them). */
  readonly inputDataTypes: Readonly<Record<keyof GraphInputs, number>>;
  readonly loss: 'loss';
  readonly gradient: 'gradient';
  /** The trainable input's graph name ('placeholder_rows' or the prefixed conv_in weight). */
  readonly trainable: string;
  readonly trainableDims: readonly number[];
  /** The conv_in weight's values when it is the trainable input (to feed it), else undefined. */
  readonly trainableInitial: Float32Array | undefined;
  /** The method's tensors trained beside the placeholder rows (none for textual inversion). */
  readonly methodTrainables: readonly MethodTrainable[];
  /** Whether `train` and `forward` take `loss_weights` (TrainingGraphOptions.lossWeights). */
  readonly lossWeights: boolean;
  /** Inputs of `train` and `forward` to feed with a method tensor's values, never differentiated. */
  readonly constantFeeds: readonly ConstantFeed[];
  readonly placeholderIds: readonly number[];
  /** The frozen token table's initializer in `train` and `forward` (the placeholder rows extend it). */
  readonly tokenTable: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly predictionType: PredictionType;
  readonly schedule: DdpmSchedule;
  /** The folder external-data locations are written relative to (the pipeline folder). */
  readonly modelDir: string;
  readonly unetNodes: number;
  readonly textEncoderNodes: number;
  /** Load + surgery + autodiff time of `train` and `forward` (not of `check`). */
  readonly buildMs: number;
  readonly check: CheckGraph | undefined;
}

const INPUTS: GraphInputs = {
  rows: 'placeholder_rows',
  inputIds: 'input_ids',
  latents: 'latents',
  noise: 'noise',
  timesteps: 'timesteps',
};

function firstInput(graph: OnnxGraph, name: string, component: string): ValueInfo {
  const v = graph.inputs.find((i) => i.name === name);
  if (!v)
    throw new Error(
      `${component}: no input named '${name}' (inputs: ${graph.inputs.map((i) => i.name).join(', ')})`,
    );
  return v;
}

/** The Conv that consumes the UNet's `sample` input; its weight is "conv_in.weight" whatever the exporter named it. */
export function findConvIn(unet: OnnxGraph, sampleName = 'sample'): { weight: string; node: string } {
  const conv = unet.nodes.find((n) => n.opType === 'Conv' && n.inputs[0] === sampleName);
  const weight = conv?.inputs[1];
  if (!conv || !weight || !unet.initializers.some((t) => t.name === weight)) {
    throw new Error(`unet: no Conv with an initializer weight consumes '${sampleName}'`);
  }
  return { weight, node: conv.name };
}

interface Components {
  readonly te: OnnxModel;
  readonly unet: OnnxModel;
  readonly schedule: DdpmSchedule;
  readonly opset: number;
}

function loadComponents(pipelineDir: string): Components {
  // fp16 exports train in fp32 (onnx/upcast-fp16.ts): one fp32 copy of the weights, folded at session start.
  const te = upcastFp16(
    loadModel(join(pipelineDir, 'text_encoder', 'model.onnx')),
    join(pipelineDir, 'text_encoder'),
  );
  const unet = upcastFp16(loadModel(join(pipelineDir, 'unet', 'model.onnx')), join(pipelineDir, 'unet'));
  const schedulerJson: unknown = JSON.parse(
    readFileSync(join(pipelineDir, 'scheduler', 'scheduler_config.json'), 'utf8'),
  );
  const schedule = parseSchedulerConfig(schedulerJson);
  const opset = defaultOpset(unet);
  if (defaultOpset(te) !== opset) {
    throw new Error(
      `text encoder (opset ${defaultOpset(te)}) and UNet (opset ${opset}) must share one opset to be merged`,
    );
  }
  return { te, unet, schedule, opset };
}

/** The noising + loss part: noisy latents for the UNet and the scalar MSE loss against ε or v. */
function noisingAndLoss(
  schedule: DdpmSchedule,
  sample: ValueInfo,
  timestep: ValueInfo,
  pred: string,
  opset: number,
  snrGamma?: number,
  lossWeights?: boolean,
): { before: OnnxGraph; after: OnnxGraph; noisy: string } {
  const n = schedule.numTrainTimesteps;
  const sqrtAb: number[] = [];
  const sqrtOneMinus: number[] = [];
  for (let t = 0; t < n; t++) {
    const ab = schedule.alphasCumprod[t] ?? 0;
    sqrtAb.push(Math.sqrt(ab));
    sqrtOneMinus.push(Math.sqrt(1 - ab));
  }
  const dt = sample.dataType;
  const b = new GraphBuilder('ddpm');
  b.initializer('ddpm/sqrt_alphas_cumprod', { dataType: dt, dims: [n], values: sqrtAb });
  b.initializer('ddpm/sqrt_one_minus_alphas_cumprod', { dataType: dt, dims: [n], values: sqrtOneMinus });
  b.initializer('ddpm/coef_shape', { dataType: DataType.INT64, dims: [4], values: [-1n, 1n, 1n, 1n] });
  let index = INPUTS.timesteps;
  if (timestep.dataType !== DataType.INT64) {
    b.node('Cast', [INPUTS.timesteps], ['ddpm/timestep_index'], {
      to: { type: 'int', value: DataType.INT64 },
    });
    index = 'ddpm/timestep_index';
  }
  b.node('Gather', ['ddpm/sqrt_alphas_cumprod', index], ['ddpm/signal_b'], {
    axis: { type: 'int', value: 0 },
  });
  b.node('Gather', ['ddpm/sqrt_one_minus_alphas_cumprod', index], ['ddpm/sigma_b'], {
    axis: { type: 'int', value: 0 },
  });
  b.node('Reshape', ['ddpm/signal_b', 'ddpm/coef_shape'], ['ddpm/signal']);
  b.node('Reshape', ['ddpm/sigma_b', 'ddpm/coef_shape'], ['ddpm/sigma']);
  b.node('Mul', ['ddpm/signal', INPUTS.latents], ['ddpm/signal_x0']);
  b.node('Mul', ['ddpm/sigma', INPUTS.noise], ['ddpm/sigma_eps']);
  b.node('Add', ['ddpm/signal_x0', 'ddpm/sigma_eps'], ['ddpm/noisy_latents']);
  let target = INPUTS.noise;
  if (schedule.predictionType === 'v_prediction') {
    b.node('Mul', ['ddpm/signal', INPUTS.noise], ['ddpm/signal_eps']);
    b.node('Mul', ['ddpm/sigma', INPUTS.latents], ['ddpm/sigma_x0']);
    b.node('Sub', ['ddpm/signal_eps', 'ddpm/sigma_x0'], ['ddpm/v_target']);
    target = 'ddpm/v_target';
  }
  if (snrGamma !== undefined) {
    const weights = Array.from({ length: n }, (_, t) =>
      minSnrWeight(schedule.alphasCumprod[t] ?? 0, snrGamma, schedule.predictionType),
    );
    b.initializer('ddpm/min_snr_weights', { dataType: DataType.FLOAT, dims: [n], values: weights });
    b.node('Gather', ['ddpm/min_snr_weights', index], ['ddpm/loss_weight_b'], {
      axis: { type: 'int', value: 0 },
    });
    b.node('Reshape', ['ddpm/loss_weight_b', 'ddpm/coef_shape'], ['ddpm/loss_weight']);
  }
  const before = b.build(opset).graph;

  const l = new GraphBuilder('loss');
  let p = pred;
  let t = target;
  if (dt !== DataType.FLOAT) {
    l.node('Cast', [pred], ['loss/pred_f32'], { to: { type: 'int', value: DataType.FLOAT } });
    l.node('Cast', [target], ['loss/target_f32'], { to: { type: 'int', value: DataType.FLOAT } });
    p = 'loss/pred_f32';
    t = 'loss/target_f32';
  }
  l.node('Sub', [p, t], ['loss/diff']);
  l.node('Mul', ['loss/diff', 'loss/diff'], ['loss/squared']);
  let squared = 'loss/squared';
  if (snrGamma !== undefined) {
    l.node('Mul', ['loss/squared', 'ddpm/loss_weight'], ['loss/weighted']);
    squared = 'loss/weighted';
  }
  if (lossWeights) {
    // [B, 1, h, w] × [B, C, h, w]: the mask and item weights, already normalized per item (batches.ts).
    l.node('Mul', [squared, LOSS_WEIGHTS], ['loss/masked']);
    squared = 'loss/masked';
  }
  l.node('ReduceMean', [squared], ['loss'], { keepdims: { type: 'int', value: 0 } });
  return { before, after: l.build(opset).graph, noisy: 'ddpm/noisy_latents' };
}

function mergedModel(parts: readonly OnnxGraph[], outputs: readonly ValueInfo[], c: Components): OnnxModel {
  const graph = pruneGraph(mergeGraphs('textual_inversion', parts, outputs));
  return {
    irVersion: Math.max(c.te.irVersion, c.unet.irVersion, 8),
    opsetImports: [
      ...c.unet.opsetImports,
      ...c.te.opsetImports.filter((o) => !c.unet.opsetImports.some((u) => u.domain === o.domain)),
    ],
    producerName: 'plateau',
    producerVersion: '0.1.0',
    graph,
    functions: [...c.te.functions, ...c.unet.functions],
    metadata: {},
  };
}

function initializerValues(model: OnnxModel, name: string, modelDir: string): Float32Array {
  const t = model.graph.initializers.find((i) => i.name === name);
  if (!t) throw new Error(`initializer '${name}' not found`);
  const bytes = readTensorBytes(t, modelDir);
  if (t.dataType !== DataType.FLOAT) throw new Error(`initializer '${name}' is not FLOAT`);
  return Float32Array.from(decodeValues(t.dataType, bytes) as number[]);
}

/** Builds the training graph (loss + gradient) and its loss-only twin for a diffusers ONNX pipeline folder. */
export function buildTrainingGraph(pipelineDir: string, options: TrainingGraphOptions = {}): TrainingGraph {
  const started = performance.now();
  const wrt = options.wrt ?? 'placeholder';
  const nVectors = options.nVectors ?? 1;
  const c = loadComponents(pipelineDir);
  const teGraph = c.te.graph;
  const unetGraph = c.unet.graph;
  const ids = firstInput(teGraph, 'input_ids', 'text encoder');
  const sample = firstInput(unetGraph, 'sample', 'unet');
  const timestep = firstInput(unetGraph, 'timestep', 'unet');
  const ehs = firstInput(unetGraph, 'encoder_hidden_states', 'unet');
  const teOut = teGraph.outputs.find((o) => o.name === 'last_hidden_state') ?? teGraph.outputs[0];
  const unetOut = unetGraph.outputs.find((o) => o.name === 'out_sample') ?? unetGraph.outputs[0];
  if (!teOut || !unetOut) throw new Error('text encoder and UNet must each have an output');

  const spliced = spliceEmbeddingRows(teGraph, {
    idsInput: ids.name,
    rowsInput: INPUTS.rows,
    nRows: nVectors,
  });
  const te = prefixGraph(spliced.graph, 'te/', {
    [ids.name]: INPUTS.inputIds,
    [INPUTS.rows]: INPUTS.rows,
    [teOut.name]: 'encoder_hidden_states',
  });
  const surgery = options.unetSurgery?.(unetGraph, { modelPath: join(pipelineDir, 'unet', 'model.onnx') });
  const methodInputs = surgery?.inputs ?? [];
  const constantFeeds = surgery?.constants ?? [];
  for (const c of constantFeeds) {
    if (!methodInputs.some((v) => v.name === c.feedFrom)) {
      throw new Error(`constant input '${c.name}' is fed from '${c.feedFrom}', which is no method tensor`);
    }
  }
  for (const input of methodInputs) {
    if (input.dataType !== DataType.FLOAT || !input.dims?.every((d) => typeof d === 'number')) {
      throw new Error(`method tensor '${input.name}' must be a FLOAT input with a fixed shape`);
    }
  }
  const convIn = findConvIn(unetGraph, sample.name);
  const convInName = `unet/${convIn.weight}`;
  const pred = 'model_pred';
  const { before, after, noisy } = noisingAndLoss(
    c.schedule,
    sample,
    timestep,
    pred,
    c.opset,
    options.snrGamma,
    options.lossWeights,
  );
  let unet = prefixGraph(surgery?.graph ?? unetGraph, 'unet/', {
    [sample.name]: noisy,
    [timestep.name]: INPUTS.timesteps,
    [ehs.name]: 'encoder_hidden_states',
    [unetOut.name]: pred,
    ...Object.fromEntries([...methodInputs, ...constantFeeds].map((v) => [v.name, v.name])),
  });
  const inputs: ValueInfo[] = [
    { name: INPUTS.latents, dataType: sample.dataType, dims: sample.dims },
    { name: INPUTS.noise, dataType: sample.dataType, dims: sample.dims },
    { name: INPUTS.timesteps, dataType: timestep.dataType, dims: timestep.dims },
    ...(options.lossWeights
      ? [
          {
            name: LOSS_WEIGHTS,
            dataType: DataType.FLOAT,
            dims: [sample.dims?.[0] ?? 'batch', 1, sample.dims?.[2] ?? 'height', sample.dims?.[3] ?? 'width'],
          },
        ]
      : []),
  ];
  unet = { ...unet, inputs: [...unet.inputs.filter((v) => v.name !== noisy), ...inputs] };
  const lossInfo: ValueInfo = { name: 'loss', dataType: DataType.FLOAT, dims: [] };
  const forward = mergedModel([te, before, unet, after], [lossInfo], c);

  const trainable = wrt === 'placeholder' ? INPUTS.rows : convInName;
  const batched = options.batchSize === undefined ? forward : withBatch(forward, options.batchSize);
  const differentiated =
    options.latentSize === undefined ? batched : withLatentSize(batched, options.latentSize);
  const methodNames = wrt === 'placeholder' ? methodInputs.map((v) => v.name) : [];
  const { model: gradModel, gradients } = buildGradientGraph(differentiated, {
    loss: 'loss',
    wrt: [trainable, ...methodNames],
    ...(options.registry ? { registry: options.registry } : {}),
    ...(options.frozenWeights ? { frozenWeights: options.frozenWeights } : {}),
  });
  const renames = new Map<string, string>([[gradients[trainable] ?? '', 'gradient']]);
  const methodTrainables: MethodTrainable[] = [];
  for (const input of wrt === 'placeholder' ? methodInputs : []) {
    const produced = gradients[input.name];
    if (!produced) throw new Error(`the loss does not depend on the method tensor '${input.name}'`);
    renames.set(produced, `gradient/${input.name}`);
    methodTrainables.push({
      name: input.name,
      dims: (input.dims ?? []) as number[],
      gradient: `gradient/${input.name}`,
    });
  }
  const train = renameOutputs(gradModel, renames);
  const forwardFed =
    options.forwardBatchSize === undefined ? forward : withBatch(forward, options.forwardBatchSize);
  const forwardWithInput =
    wrt === 'conv_in' ? { ...forwardFed, graph: moveToInput(forwardFed.graph, convInName) } : forwardFed;
  const buildMs = performance.now() - started;
  let check: CheckGraph | undefined;
  if (options.check) {
    const built = buildGradientGraph(differentiated, {
      loss: 'loss',
      wrt: [INPUTS.rows, convInName],
      intermediateGradients: ['encoder_hidden_states'],
      ...(options.registry ? { registry: options.registry } : {}),
    });
    check = {
      model: built.model,
      gradients: {
        placeholder: built.gradients[INPUTS.rows] ?? '',
        conv_in: built.gradients[convInName] ?? '',
        encoder_hidden_states: built.gradients.encoder_hidden_states ?? '',
      },
      convInWeight: convInName,
      convInDims: unetGraph.initializers.find((t) => t.name === convIn.weight)?.dims ?? [],
      convInInitial: initializerValues(c.unet, convIn.weight, join(pipelineDir, 'unet')),
    };
  }
  const trainableDims =
    wrt === 'placeholder'
      ? [nVectors, spliced.hiddenSize]
      : (unetGraph.initializers.find((t) => t.name === convIn.weight)?.dims ?? []);
  return {
    train,
    forward: forwardWithInput,
    inputs: INPUTS,
    inputDataTypes: {
      rows: DataType.FLOAT,
      inputIds: ids.dataType,
      latents: sample.dataType,
      noise: sample.dataType,
      timesteps: timestep.dataType,
    },
    loss: 'loss',
    gradient: 'gradient',
    trainable,
    trainableDims,
    trainableInitial:
      wrt === 'conv_in' ? initializerValues(c.unet, convIn.weight, join(pipelineDir, 'unet')) : undefined,
    methodTrainables,
    lossWeights: options.lossWeights === true,
    constantFeeds: wrt === 'placeholder' ? constantFeeds : [],
    placeholderIds: Array.from({ length: nVectors }, (_, i) => spliced.vocabSize + i),
    tokenTable: `te/${spliced.tableName}`,
    vocabSize: spliced.vocabSize,
    hiddenSize: spliced.hiddenSize,
    predictionType: c.schedule.predictionType,
    schedule: c.schedule,
    modelDir: pipelineDir,
    unetNodes: unetGraph.nodes.length,
    textEncoderNodes: teGraph.nodes.length,
    buildMs,
    check,
  };
}

/** The model with the leading (batch) dim of the batched inputs fixed to `batch` where the export left it symbolic. */
function withBatch(model: OnnxModel, batch: number): OnnxModel {
  if (!Number.isInteger(batch) || batch < 1)
    throw new Error(`batchSize must be a positive integer (got ${batch})`);
  const batched = new Set<string>([
    INPUTS.inputIds,
    INPUTS.latents,
    INPUTS.noise,
    INPUTS.timesteps,
    LOSS_WEIGHTS,
  ]);
  const inputs = model.graph.inputs.map((v) => {
    const first = v.dims?.[0];
    if (!batched.has(v.name) || v.dims === undefined || typeof first === 'number') return v;
    return { ...v, dims: [batch, ...v.dims.slice(1)] };
  });
  return { ...model, graph: { ...model.graph, inputs } };
}

/** The model with the latents' and noise's spatial dims fixed to `side`. */
function withLatentSize(model: OnnxModel, side: number): OnnxModel {
  const spatial = new Set<string>([INPUTS.latents, INPUTS.noise, LOSS_WEIGHTS]);
  const inputs = model.graph.inputs.map((v) =>
    spatial.has(v.name) && v.dims?.length === 4 ? { ...v, dims: [v.dims[0], v.dims[1], side, side] } : v,
  );
  return { ...model, graph: { ...model.graph, inputs } };
}

/** Renames graph outputs (and the node outputs producing them) in one pass: gradient names become stable names. */
function renameOutputs(model: OnnxModel, renames: ReadonlyMap<string, string>): OnnxModel {
  const g = model.graph;
  const rename = (name: string) => renames.get(name) ?? name;
  return {
    ...model,
    graph: {
      ...g,
      nodes: g.nodes.map((n) =>
        n.outputs.some((o) => renames.has(o)) ? { ...n, outputs: n.outputs.map(rename) } : n,
      ),
      outputs: g.outputs.map((o) => (renames.has(o.name) ? { ...o, name: rename(o.name) } : o)),
    },
  };
}

function moveToInput(graph: OnnxGraph, name: string): OnnxGraph {
  const t = graph.initializers.find((i) => i.name === name);
  if (!t) return graph;
  return {
    ...graph,
    initializers: graph.initializers.filter((i) => i.name !== name),
    inputs: [...graph.inputs, { name, dataType: t.dataType, dims: [...t.dims] }],
  };
}

/**
 * How to hand a graph to onnxruntime. onnxruntime only reads external data inside the folder of the model
 * file (or the working directory for bytes) and rejects absolute paths and symlinks out of it, so a graph
 * with external weights is written into the pipeline folder itself (locations such as `unet/weights.pb`
 * stay valid and nothing is copied); a graph without external data is passed as bytes.
 */
export function sessionSource(model: OnnxModel, modelDir: string): Uint8Array | string {
  if (!hasExternalData(model.graph)) return encodeModel(model);
  const bytes = encodeModel(model, { modelDir });
  const path = join(
    modelDir,
    `.plateau-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}.onnx`,
  );
  writeFileSync(path, bytes);
  return path;
}
