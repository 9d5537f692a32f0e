// A job from its manifest to its files: the one function both `plateau train` and the pipeline's trainer run.
// It maps the manifest to the run's settings and method, trains (runPersonalization), and renders validation
// samples with everything the method learned applied, beside "before" samples (the initializer word on the base
// model, same seeds); callers only bring the model files, images and ports.
import type { JobManifest } from '../../../shared/manifest.ts';
import type { PixelImage } from './batches.ts';
import { type GenerateImages, prepareClassImages } from './class-images.ts';
import { type MethodConfig, methodFor } from './methods/index.ts';
import {
  LOOP_DEFAULTS,
  type RunDeps,
  type RunResult,
  type RunSettings,
  runPersonalization,
} from './personalize.ts';
import { type RenderSamples, type SampleSettings, validationPrompts } from './sampler.ts';
import { recordClassImages } from './trainer-report.ts';

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
    ...(t.tokenLearningRate === undefined ? {} : { tokenLearningRate: t.tokenLearningRate }),
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
  /** Draws class images with the base model (prior preservation); absent = uploaded class images only. */
  readonly generateImages?: GenerateImages;
  /**
   * Record the class images' count and time in the job's partial report.json before training (the pipeline:
   * finalize reports it apart from training time). `plateau train` writes its own report instead.
   */
  readonly reportClassImages?: boolean;
}

export interface JobRunResult extends RunResult {
  /** Validation files written, relative to the job's prefix (output/samples/…). */
  readonly sampleKeys: readonly string[];
  readonly samplesError: string | null;
  /** Prior preservation's class images: how many, how many generated in this run, and their time. */
  readonly classImages: {
    readonly count: number;
    readonly generated: number;
    readonly seconds: number;
  } | null;
}

/** prompts.json with each image's "before" twin (initializer word, base model, same seed) named beside it. */
function withBefore(
  body: Uint8Array,
  pairs: readonly { readonly initializerFile: string; readonly initializerPrompt: string }[],
): Uint8Array {
  const meta = JSON.parse(new TextDecoder().decode(body)) as { images?: Record<string, unknown>[] };
  const images = (meta.images ?? []).map((image, i) => ({ ...image, ...pairs[i] }));
  return new TextEncoder().encode(`${JSON.stringify({ ...meta, images }, null, 2)}\n`);
}

export async function runJob(
  job: {
    readonly manifest: JobManifest;
    readonly pipelineDir: string;
    readonly images: readonly PixelImage[];
    /** Uploaded class images (jobs/<jobId>/input/class/), for prior preservation. */
    readonly classImages?: readonly PixelImage[];
  },
  cadence: LoopCadence,
  deps: JobRunDeps,
): Promise<JobRunResult> {
  const { manifest } = job;
  const settings = runSettingsOf(manifest, cadence);
  const classes = await classImagesOf(job, settings, deps);
  if (classes && deps.reportClassImages) {
    await recordClassImages(deps.store, {
      count: classes.images.length,
      generated: classes.generated,
      seconds: classes.seconds,
    });
  }
  const result = await runPersonalization(settings, {
    ...deps,
    pipelineDir: job.pipelineDir,
    images: job.images,
    ...(classes ? { classImages: classes.images } : {}),
    outputFacts: {
      ...deps.outputFacts,
      ...(classes
        ? { class_images_generated: classes.generated, class_images_seconds: classes.seconds }
        : {}),
    },
  });
  const sampleKeys: string[] = [];
  let samplesError: string | null = null;
  const count = deps.sampleCount ?? Number.POSITIVE_INFINITY;
  if (deps.renderSamples && count > 0) {
    const method = methodFor(methodConfigOf(manifest));
    try {
      const subject = method.promptSubject?.(manifest.token) ?? manifest.token;
      const prompts = validationPrompts(subject, manifest.templates).slice(0, count);
      const settings = { ...deps.sampleSettings, seed: manifest.training.seed };
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
        settings,
      );
      // "Before": the same prompts and seeds with the initializer word on the base model, for a side-by-side grid.
      const beforePrompts = prompts.map((p) => p.split(manifest.token).join(manifest.initializerToken));
      const before = await deps.renderSamples(
        job.pipelineDir,
        { token: manifest.token, rows: result.rows },
        beforePrompts,
        settings,
      );
      const pairs = beforePrompts.map((prompt, i) => ({
        initializerFile: `initializer/${i}.png`,
        initializerPrompt: prompt,
      }));
      for (const file of files) {
        const body = file.name === 'prompts.json' ? withBefore(file.body, pairs) : file.body;
        const key = `output/samples/${file.name}`;
        await deps.store.put(key, body, file.contentType);
        sampleKeys.push(key);
      }
      for (const file of before.filter((f) => f.name.endsWith('.png') && f.name !== 'contact-sheet.png')) {
        const key = `output/samples/initializer/${file.name}`;
        await deps.store.put(key, file.body, file.contentType);
        sampleKeys.push(key);
      }
    } catch (error) {
      samplesError = error instanceof Error ? error.message : String(error);
      deps.log?.(`validation samples failed: ${samplesError}`);
    }
  }
  return {
    ...result,
    sampleKeys,
    samplesError,
    classImages: classes
      ? { count: classes.images.length, generated: classes.generated, seconds: classes.seconds }
      : null,
  };
}

/** The method's class images (uploaded, cached or generated now); undefined when it preserves no prior. */
async function classImagesOf(
  job: {
    readonly pipelineDir: string;
    readonly images: readonly PixelImage[];
    readonly classImages?: readonly PixelImage[];
  },
  settings: RunSettings,
  deps: JobRunDeps,
) {
  const prior = methodFor(settings.method ?? { name: 'textual-inversion' }).prior;
  if (!prior) return undefined;
  const uploaded = job.classImages ?? [];
  const generate = deps.generateImages;
  if (!generate && uploaded.length < prior.images) {
    throw new Error(
      `prior preservation wants ${prior.images} class images; ${uploaded.length} were given and this runner ` +
        'cannot generate the rest',
    );
  }
  const resolution = job.images[0]?.height ?? 0;
  deps.log?.(
    `class images: ${uploaded.length} uploaded, ${Math.max(0, prior.images - uploaded.length)} from the base model ("${prior.prompt}")`,
  );
  return prepareClassImages(
    { prompt: prior.prompt, count: prior.images, seed: settings.seed, resolution, uploaded },
    {
      store: deps.store,
      generate: async (prompt, count, seed) =>
        generate ? generate(job.pipelineDir, prompt, count, seed) : [],
      onProgress: (done, total) => deps.log?.(`class images: ${done}/${total}`),
    },
  );
}
