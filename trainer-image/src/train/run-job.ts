// A job from its manifest to its files: the one function both `plateau train` and the pipeline's trainer run.
// It maps the manifest to the run's settings and method, trains (runPersonalization), and renders validation
// samples with everything the method learned applied; callers only bring the model files, images and ports.
import type { JobManifest } from '../../../shared/manifest.ts';
import type { PixelImage } from './batches.ts';
import { PRIOR_PRESERVATION_PENDING } from './methods/custom-diffusion.ts';
import { type MethodConfig, methodFor } from './methods/index.ts';
import {
  LOOP_DEFAULTS,
  type RunDeps,
  type RunResult,
  type RunSettings,
  runPersonalization,
} from './personalize.ts';
import { type RenderSamples, type SampleSettings, validationPrompts } from './sampler.ts';

/** Cadences that are the caller's, not the job's: how often to flush samples and write checkpoints. */
export interface LoopCadence {
  readonly checkpointEvery?: number;
  readonly flushEvery?: number;
  readonly flushIntervalMs?: number;
}

/** The method and its own settings, from the manifest's variant. */
export function methodConfigOf(manifest: JobManifest): MethodConfig {
  switch (manifest.method) {
    case 'textual-inversion':
      return { name: 'textual-inversion' };
    case 'dreambooth-lora':
      return { name: 'dreambooth-lora', ...manifest.lora };
    case 'custom-diffusion':
      return { name: 'custom-diffusion', ...manifest.customDiffusion };
  }
}

export function runSettingsOf(manifest: JobManifest, cadence: LoopCadence = {}): RunSettings {
  const t = manifest.training;
  return {
    ...LOOP_DEFAULTS,
    method: methodConfigOf(manifest),
    token: manifest.token,
    initializerToken: manifest.initializerToken,
    templates: manifest.templates,
    learningRate: t.learningRate,
    scaleLr: t.scaleLr,
    batchSize: t.batchSize,
    seed: t.seed,
    maxSteps: t.maxSteps,
    ...(t.snrGamma === undefined ? {} : { snrGamma: t.snrGamma }),
    evalBatchSize: manifest.stop.evalBatchSize,
    evalEvery: manifest.stop.evalEvery,
    ...(cadence.checkpointEvery === undefined ? {} : { checkpointEvery: cadence.checkpointEvery }),
    ...(cadence.flushEvery === undefined ? {} : { flushEvery: cadence.flushEvery }),
    ...(cadence.flushIntervalMs === undefined ? {} : { flushIntervalMs: cadence.flushIntervalMs }),
  };
}

export interface JobRunDeps extends Omit<RunDeps, 'pipelineDir' | 'images'> {
  /** Validation images; absent = none. A sampling failure is reported, never a reason to fail the run. */
  readonly renderSamples?: RenderSamples;
  /** How many of the validation prompts to draw (default all). */
  readonly sampleCount?: number;
  readonly sampleSettings?: Omit<SampleSettings, 'seed'>;
  readonly log?: (line: string) => void;
}

export interface JobRunResult extends RunResult {
  /** Validation files written, relative to the job's prefix (output/samples/…). */
  readonly sampleKeys: readonly string[];
  readonly samplesError: string | null;
}

export async function runJob(
  job: {
    readonly manifest: JobManifest;
    readonly pipelineDir: string;
    readonly images: readonly PixelImage[];
  },
  cadence: LoopCadence,
  deps: JobRunDeps,
): Promise<JobRunResult> {
  const { manifest } = job;
  const settings = runSettingsOf(manifest, cadence);
  if (manifest.method === 'custom-diffusion' && manifest.customDiffusion.priorPreservation) {
    deps.log?.(PRIOR_PRESERVATION_PENDING);
  }
  const result = await runPersonalization(settings, {
    ...deps,
    pipelineDir: job.pipelineDir,
    images: job.images,
  });
  const sampleKeys: string[] = [];
  let samplesError: string | null = null;
  const count = deps.sampleCount ?? Number.POSITIVE_INFINITY;
  if (deps.renderSamples && count > 0) {
    const method = methodFor(methodConfigOf(manifest));
    try {
      const prompts = validationPrompts(manifest.token, manifest.templates).slice(0, count);
      const files = await deps.renderSamples(
        job.pipelineDir,
        {
          token: manifest.token,
          rows: result.rows,
          ...(method.unetSurgery
            ? { unet: { surgery: method.unetSurgery, tensors: result.methodTensors } }
            : {}),
        },
        prompts,
        { ...deps.sampleSettings, seed: manifest.training.seed },
      );
      for (const file of files) {
        const key = `output/samples/${file.name}`;
        await deps.store.put(key, file.body, file.contentType);
        sampleKeys.push(key);
      }
    } catch (error) {
      samplesError = error instanceof Error ? error.message : String(error);
      deps.log?.(`validation samples failed: ${samplesError}`);
    }
  }
  return { ...result, sampleKeys, samplesError };
}
