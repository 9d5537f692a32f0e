// Validation samples for a learned token on any diffusers-ONNX pipeline: the conditioned UNet (learned row(s)
// and the method's tensors applied, conditioned-unet.ts), DDIM (η = 0, diffusers' timestep spacing) with
// classifier-free guidance, the VAE decoder, then PNGs and a contact sheet (sharp).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { sampleGuidanceOf } from '../../../shared/model-index.ts';
import { DataType } from '../onnx/model.ts';
import { Session, sessionOptionsFor } from '../runtime/session.ts';
import { configNumber, type LearnedToken, openConditionedUnet } from './conditioned-unet.ts';
import { type DdpmSchedule, parseSchedulerConfig } from './ddpm.ts';
import { Rng } from './rng.ts';

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

/** Stable Diffusion's usual classifier-free guidance scale, the samples' default. */
export const SD_GUIDANCE = 7.5;

/**
 * The guidance a pipeline's samples are drawn at when a job names none: what its model_index.json asks for
 * (shared/model-index.ts; the embedded model asks for 3), else SD's.
 */
export function modelSampleGuidance(pipelineDir: string): number {
  const path = join(pipelineDir, 'model_index.json');
  return existsSync(path) ? (sampleGuidanceOf(readJson(path)) ?? SD_GUIDANCE) : SD_GUIDANCE;
}

/** A few prompts naming the concept (`subject`: the token, or for Custom Diffusion "<token> <class word>"). */
export function validationPrompts(subject: string, templates: 'object' | 'style'): string[] {
  const object = ['a photo of a {}', 'a {} on a beach', 'a painting of a {}', 'a close-up photo of a {}'];
  const style = ['a painting in the style of {}', 'a house in the style of {}', 'a cat in the style of {}'];
  return (templates === 'style' ? style : object).map((p) => p.replace('{}', subject));
}

export type { LearnedToken } from './conditioned-unet.ts';

export interface SampleSettings {
  readonly seed: number;
  /** DDIM steps (default 25). */
  readonly steps?: number;
  /** Classifier-free guidance scale (default SD_GUIDANCE). */
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

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Opens the pipeline's conditioned UNet (learned rows and method tensors applied; the base model without
 * `learned`, e.g. for class images) and VAE decoder for sampling.
 */
export async function openValidationSampler(
  pipelineDir: string,
  learned: LearnedToken | undefined,
  options: SamplerOptions = {},
): Promise<ValidationSampler> {
  const sessionOptions = sessionOptionsFor(options);
  const schedule = parseDdimSchedule(readJson(join(pipelineDir, 'scheduler', 'scheduler_config.json')));
  const model = await openConditionedUnet(pipelineDir, learned, sessionOptions);
  const vae = await Session.create(join(pipelineDir, 'vae_decoder', 'model.onnx'), sessionOptions);
  const vaeIn = vae.inputNames[0];
  const vaeOut = vae.outputNames[0];
  if (!vaeIn || !vaeOut) throw new Error('vae_decoder: needs one input and one output');
  const scaling =
    configNumber(join(pipelineDir, 'vae_decoder', 'config.json'), 'scaling_factor') ??
    configNumber(join(pipelineDir, 'vae', 'config.json'), 'scaling_factor') ??
    0.18215;
  const latentShape = model.sampleShape;
  const per = latentShape[0] * latentShape[1] * latentShape[2];

  return {
    latentShape,
    async sample(prompts, settings) {
      const n = prompts.length;
      const guidance = settings.guidance ?? SD_GUIDANCE;
      // One UNet call per step for both halves: [unconditional ×n, conditional ×n].
      const hidden = await model.encode([...prompts.map(() => ''), ...prompts]);
      const x = Rng.forStream(settings.seed, 'validation-samples').normal(n * per);
      const timesteps = ddimTimesteps(schedule, settings.steps ?? 25);
      const stride = Math.floor(schedule.numTrainTimesteps / timesteps.length);
      const doubled = new Float32Array(2 * n * per);
      for (const t of timesteps) {
        doubled.set(x);
        doubled.set(x, n * per);
        const pred = await model.predict(doubled, 2 * n, t, hidden);
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
      await Promise.all([model.release(), vae.release()]);
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
    guidance: settings.guidance ?? SD_GUIDANCE,
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
    const guidance = settings.guidance ?? modelSampleGuidance(pipelineDir);
    return await renderValidationSamples(sampler, prompts, { ...settings, guidance });
  } finally {
    await sampler.release();
  }
};

/** Class images from the base model (no learned token): `count` draws of `prompt` from one seed. */
export async function generateOnnxImages(
  pipelineDir: string,
  prompt: string,
  count: number,
  seed: number,
): Promise<RgbImage[]> {
  const sampler = await openValidationSampler(pipelineDir, undefined);
  try {
    return await sampler.sample(
      Array.from({ length: count }, () => prompt),
      { seed },
    );
  } finally {
    await sampler.release();
  }
}
