// Validation samples for a learned token on any diffusers-ONNX pipeline: the text encoder with the learned row(s)
// spliced into its token table (surgery's Concat + Gather, as in training), DDIM (η = 0, diffusers' timestep
// spacing) with classifier-free guidance over the UNet, the VAE decoder, then PNGs and a contact sheet (sharp).
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { loadModel } from '../onnx/codec.ts';
import { DataType, type OnnxGraph, type ValueInfo } from '../onnx/model.ts';
import { findTokenEmbedding, spliceEmbeddingRows } from '../onnx/surgery.ts';
import { Session, sessionOptionsFor, type TypedTensor } from '../runtime/session.ts';
import { type DdpmSchedule, parseSchedulerConfig } from './ddpm.ts';
import type { NamedTensor } from './methods/method.ts';
import { Rng } from './rng.ts';
import { loadTokenizer } from './tokenizer.ts';
import { sessionSource, type UnetSurgery } from './training-graph.ts';

/** The DDIM parts of a scheduler config (DDPM, PNDM and DDIM configs all carry them; diffusers' defaults). */
const ddimConfigSchema = z.looseObject({
  steps_offset: z.number().int().nonnegative().default(0),
  set_alpha_to_one: z.boolean().default(true),
  clip_sample: z.boolean().default(false),
  clip_sample_range: z.number().positive().default(1),
});

export interface DdimSchedule extends DdpmSchedule {
  readonly stepsOffset: number;
  /** ᾱ used after the last step (1 when set_alpha_to_one, else ᾱ_0). */
  readonly finalAlphaCumprod: number;
  /** Clip the x0 estimate to ±this (only when the config says clip_sample). */
  readonly clipRange: number | null;
}

export function parseDdimSchedule(json: unknown): DdimSchedule {
  const ddpm = parseSchedulerConfig(json);
  const cfg = ddimConfigSchema.parse(json);
  return {
    ...ddpm,
    stepsOffset: cfg.steps_offset,
    finalAlphaCumprod: cfg.set_alpha_to_one ? 1 : (ddpm.alphasCumprod[0] ?? 1),
    clipRange: cfg.clip_sample ? cfg.clip_sample_range : null,
  };
}

/** diffusers' "leading" spacing: (0, s, 2s, …)·reversed + steps_offset with s = T / steps. */
export function ddimTimesteps(schedule: DdimSchedule, steps: number): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > schedule.numTrainTimesteps) {
    throw new Error(`sampling steps must be an integer in 1..${schedule.numTrainTimesteps}, got ${steps}`);
  }
  const stride = Math.floor(schedule.numTrainTimesteps / steps);
  return Array.from({ length: steps }, (_, i) =>
    Math.min(schedule.numTrainTimesteps - 1, (steps - 1 - i) * stride + schedule.stepsOffset),
  );
}

/**
 * One deterministic DDIM step in place: from the guided model output at t, estimate x0 and ε (for ε- or
 * v-prediction), then x_prev = sqrt(ᾱ_prev)·x0 + sqrt(1 − ᾱ_prev)·ε.
 */
export function ddimStep(
  schedule: DdimSchedule,
  x: Float32Array,
  modelOutput: Float32Array,
  t: number,
  prevT: number,
): void {
  const ab = schedule.alphasCumprod[t];
  if (ab === undefined) throw new Error(`timestep ${t} is outside the schedule`);
  const abPrev = prevT >= 0 ? (schedule.alphasCumprod[prevT] ?? 1) : schedule.finalAlphaCumprod;
  const sa = Math.sqrt(ab);
  const s1 = Math.sqrt(1 - ab);
  const saPrev = Math.sqrt(abPrev);
  const s1Prev = Math.sqrt(1 - abPrev);
  const clip = schedule.clipRange;
  const v = schedule.predictionType === 'v_prediction';
  for (let i = 0; i < x.length; i++) {
    const xi = x[i]!;
    const out = modelOutput[i]!;
    let x0 = v ? sa * xi - s1 * out : (xi - s1 * out) / sa;
    let eps = v ? sa * out + s1 * xi : out;
    if (clip !== null) {
      x0 = Math.max(-clip, Math.min(clip, x0));
      eps = (xi - sa * x0) / s1;
    }
    x[i] = saPrev * x0 + s1Prev * eps;
  }
}

/** A few prompts with the token, per template set. */
export function validationPrompts(token: string, templates: 'object' | 'style'): string[] {
  const object = ['a photo of a {}', 'a {} on a beach', 'a painting of a {}', 'a close-up photo of a {}'];
  const style = ['a painting in the style of {}', 'a house in the style of {}', 'a cat in the style of {}'];
  return (templates === 'style' ? style : object).map((p) => p.replace('{}', token));
}

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

export interface SampleSettings {
  readonly seed: number;
  /** DDIM steps (default 25). */
  readonly steps?: number;
  /** Classifier-free guidance scale (default 7.5, SD's). */
  readonly guidance?: number;
}

/** An 8-bit RGB image, rows top to bottom, HWC. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export interface ValidationSampler {
  /** The latent shape [C, h, w] the UNet samples in. */
  readonly latentShape: readonly [number, number, number];
  sample(prompts: readonly string[], settings: SampleSettings): Promise<RgbImage[]>;
  release(): Promise<void>;
}

export interface SamplerOptions {
  readonly device?: 'auto' | 'cuda' | 'cpu';
  readonly intraOpThreads?: number;
}

function input(graph: OnnxGraph, name: string, position: number, component: string): ValueInfo {
  const found = graph.inputs.find((i) => i.name === name) ?? graph.inputs[position];
  if (!found) throw new Error(`${component}: no input '${name}'`);
  return found;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function configNumber(path: string, key: string): number | undefined {
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

/** Opens the pipeline's text encoder (with the learned rows), UNet and VAE decoder for sampling. */
export async function openValidationSampler(
  pipelineDir: string,
  learned: LearnedToken,
  options: SamplerOptions = {},
): Promise<ValidationSampler> {
  const sessionOptions = sessionOptionsFor(options);
  const schedule = parseDdimSchedule(readJson(join(pipelineDir, 'scheduler', 'scheduler_config.json')));
  const tokenizer = await loadTokenizer(join(pipelineDir, 'tokenizer'));
  const placeholderId = await tokenizer.addPlaceholderToken(learned.token);

  const teDir = join(pipelineDir, 'text_encoder');
  const te = loadModel(join(teDir, 'model.onnx'));
  const ids = input(te.graph, 'input_ids', 0, 'text encoder');
  const teOut = te.graph.outputs.find((o) => o.name === 'last_hidden_state') ?? te.graph.outputs[0];
  if (!teOut) throw new Error('text encoder: no output');
  const rowsInput = 'plateau_learned_rows';
  const hiddenSize = findTokenEmbedding(te.graph, ids.name).table.dims[1] ?? 0;
  const nRows = hiddenSize > 0 ? learned.rows.length / hiddenSize : 0;
  if (!Number.isInteger(nRows) || nRows < 1) {
    throw new Error(`learned rows (${learned.rows.length} values) do not fit the hidden size ${hiddenSize}`);
  }
  const spliced = spliceEmbeddingRows(te.graph, { idsInput: ids.name, rowsInput, nRows });
  if (placeholderId !== spliced.vocabSize) {
    throw new Error(
      `the tokenizer gives ${learned.token} the id ${placeholderId} but the text encoder's table has ` +
        `${spliced.vocabSize} rows: tokenizer and text encoder do not belong together`,
    );
  }
  const teGraph: OnnxGraph = { ...spliced.graph, outputs: [teOut] };
  const teSource = sessionSource({ ...te, graph: teGraph }, teDir);
  let textEncoder: Session;
  try {
    textEncoder = await Session.create(teSource, sessionOptions);
  } finally {
    if (typeof teSource === 'string') rmSync(teSource, { force: true });
  }

  // The UNet's input names, dtypes and timestep rank come from the model; its weights are only read by ORT.
  const unetPath = join(pipelineDir, 'unet', 'model.onnx');
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
  if (learned.unet) {
    const rewritten = learned.unet.surgery(unetGraph, { modelPath: unetPath });
    for (const input of rewritten.inputs) {
      const tensor = learned.unet.tensors.find((t) => t.name === input.name);
      if (!tensor) throw new Error(`sampler: no trained values for the UNet input '${input.name}'`);
      methodFeeds[input.name] = { dataType: DataType.FLOAT, dims: tensor.dims, data: tensor.data };
    }
    const source = sessionSource({ ...unetModel, graph: rewritten.graph }, join(pipelineDir, 'unet'));
    try {
      unet = await Session.create(source, sessionOptions);
    } finally {
      if (typeof source === 'string') rmSync(source, { force: true });
    }
  } else {
    unet = await Session.create(unetPath, sessionOptions);
  }
  const vae = await Session.create(join(pipelineDir, 'vae_decoder', 'model.onnx'), sessionOptions);
  const vaeIn = vae.inputNames[0];
  const vaeOut = vae.outputNames[0];
  if (!vaeIn || !vaeOut) throw new Error('vae_decoder: needs one input and one output');

  // Latent channels and size from the UNet config (diffusers), else the input's static dims.
  const staticDim = (k: number): number | undefined => {
    const d = sample.dims?.[k];
    return typeof d === 'number' && d > 0 ? d : undefined;
  };
  const unetConfig = join(pipelineDir, 'unet', 'config.json');
  const channels: number = configNumber(unetConfig, 'in_channels') ?? staticDim(1) ?? 4;
  const latentSize: number = configNumber(unetConfig, 'sample_size') ?? staticDim(2) ?? 64;
  const scaling =
    configNumber(join(pipelineDir, 'vae_decoder', 'config.json'), 'scaling_factor') ??
    configNumber(join(pipelineDir, 'vae', 'config.json'), 'scaling_factor') ??
    0.18215;
  const latentShape = [channels, latentSize, latentSize] as const;
  const per = channels * latentSize * latentSize;
  const rows: TypedTensor = {
    dataType: DataType.FLOAT,
    dims: [nRows, spliced.hiddenSize],
    data: learned.rows,
  };

  const encode = async (prompts: readonly string[]): Promise<TypedTensor> => {
    const L = tokenizer.maxLength;
    const values: number[] = [];
    for (const prompt of prompts) values.push(...(await tokenizer.encode(prompt)));
    const data =
      ids.dataType === DataType.INT32
        ? Int32Array.from(values)
        : BigInt64Array.from(values, (v) => BigInt(v));
    const out = await textEncoder.run(
      { [ids.name]: { dataType: ids.dataType, dims: [prompts.length, L], data }, [rowsInput]: rows },
      [teOut.name],
    );
    const hidden = out[teOut.name];
    if (!hidden) throw new Error('text encoder returned no hidden states');
    return hidden;
  };

  return {
    latentShape,
    async sample(prompts, settings) {
      const n = prompts.length;
      const guidance = settings.guidance ?? 7.5;
      // One UNet call per step for both halves: [unconditional ×n, conditional ×n].
      const hidden = await encode([...prompts.map(() => ''), ...prompts]);
      const x = Rng.forStream(settings.seed, 'validation-samples').normal(n * per);
      const timesteps = ddimTimesteps(schedule, settings.steps ?? 25);
      const stride = Math.floor(schedule.numTrainTimesteps / timesteps.length);
      const doubled = new Float32Array(2 * n * per);
      for (const t of timesteps) {
        doubled.set(x);
        doubled.set(x, n * per);
        const tDims = timestep.dims?.length === 0 ? [] : [timestep.dims?.[0] === 1 ? 1 : 2 * n];
        const out = await unet.run(
          {
            [sample.name]: { dataType: DataType.FLOAT, dims: [2 * n, ...latentShape], data: doubled },
            [timestep.name]: integerTensor(timestep.dataType, tDims, t),
            [context.name]: hidden,
            ...methodFeeds,
          },
          [unetOut.name],
        );
        const pred = out[unetOut.name]?.data;
        if (!(pred instanceof Float32Array) || pred.length !== 2 * n * per) {
          throw new Error('unet returned no float prediction of the sample shape');
        }
        const guided = new Float32Array(n * per);
        for (let i = 0; i < guided.length; i++) {
          const u = pred[i]!;
          guided[i] = u + guidance * (pred[n * per + i]! - u);
        }
        ddimStep(schedule, x, guided, t, t - stride);
      }
      const images: RgbImage[] = [];
      for (let b = 0; b < n; b++) {
        const latent = Float32Array.from(x.subarray(b * per, (b + 1) * per), (v) => v / scaling);
        const decoded = (
          await vae.run({ [vaeIn]: { dataType: DataType.FLOAT, dims: [1, ...latentShape], data: latent } }, [
            vaeOut,
          ])
        )[vaeOut];
        const [, c, h, w] = decoded?.dims ?? [];
        if (
          !(decoded?.data instanceof Float32Array) ||
          c === undefined ||
          h === undefined ||
          w === undefined
        ) {
          throw new Error('vae_decoder returned no float image');
        }
        images.push(toRgb(decoded.data, c, h, w));
      }
      return images;
    },
    async release() {
      await Promise.all([textEncoder.release(), unet.release(), vae.release()]);
    },
  };
}

/** CHW in [−1, 1] → HWC 8-bit RGB (a grey image repeats its channel). */
export function toRgb(chw: Float32Array, channels: number, height: number, width: number): RgbImage {
  const data = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const v = chw[(Math.min(c, channels - 1) * height + y) * width + x] ?? 0;
        data[(y * width + x) * 3 + c] = Math.round(Math.max(0, Math.min(1, v / 2 + 0.5)) * 255);
      }
    }
  }
  return { width, height, data };
}

export function encodePng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}

/** The images side by side in a grid (up to 4 per row) on white, 4 px apart, as one PNG. */
export async function contactSheet(images: readonly RgbImage[]): Promise<Buffer> {
  const first = images[0];
  if (!first) throw new Error('a contact sheet needs at least one image');
  const gap = 4;
  const cols = Math.min(4, images.length);
  const gridRows = Math.ceil(images.length / cols);
  const width = cols * first.width + (cols + 1) * gap;
  const height = gridRows * first.height + (gridRows + 1) * gap;
  const tiles = await Promise.all(
    images.map(async (image, i) => ({
      input: await encodePng(image),
      left: gap + (i % cols) * (first.width + gap),
      top: gap + Math.floor(i / cols) * (first.height + gap),
    })),
  );
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(tiles)
    .png()
    .toBuffer();
}

/** Samples the prompts and returns the files for output/samples/: <i>.png, contact-sheet.png, prompts.json. */
export async function renderValidationSamples(
  sampler: ValidationSampler,
  prompts: readonly string[],
  settings: SampleSettings,
): Promise<{ name: string; body: Uint8Array; contentType: string }[]> {
  const images = await sampler.sample(prompts, settings);
  const files = await Promise.all(
    images.map(async (image, i) => ({
      name: `${i}.png`,
      body: await encodePng(image),
      contentType: 'image/png',
    })),
  );
  const index = prompts.map((prompt, i) => ({ file: `${i}.png`, prompt }));
  const meta = {
    seed: settings.seed,
    steps: settings.steps ?? 25,
    guidance: settings.guidance ?? 7.5,
    images: index,
  };
  return [
    ...files,
    { name: 'contact-sheet.png', body: await contactSheet(images), contentType: 'image/png' },
    {
      name: 'prompts.json',
      body: new TextEncoder().encode(`${JSON.stringify(meta, null, 2)}\n`),
      contentType: 'application/json',
    },
  ];
}

/** Renders the validation files (PNGs, contact sheet, prompts.json) for a learned token; injectable in tests. */
export type RenderSamples = (
  pipelineDir: string,
  learned: LearnedToken,
  prompts: readonly string[],
  settings: SampleSettings,
) => Promise<{ name: string; body: Uint8Array; contentType: string }[]>;

/** The real one: opens an onnxruntime sampler on the pipeline, renders, releases it. */
export const renderOnnxSamples: RenderSamples = async (pipelineDir, learned, prompts, settings) => {
  const sampler = await openValidationSampler(pipelineDir, learned);
  try {
    return await renderValidationSamples(sampler, prompts, settings);
  } finally {
    await sampler.release();
  }
};
