// `plateau train`: a standalone job (any method) with DVAR decided in-process. The flags become a job manifest,
// validated by the same schema as the pipeline's job.json (cli/job-options.ts), and the run is the pipeline
// trainer's own runJob. The output folder mirrors a job's layout (checkpoints/, output/<token>.safetensors,
// samples.jsonl); `touch <out>/STOP` stops the run at its next flush; --resume continues from the latest
// checkpoint bit-for-bit. Progress goes to stderr (train-progress.ts), a summary to stdout.
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DvarTracker, dvarParamsOf } from '../../shared/dvar.ts';
import { FileStopSignal } from '../../shared/files/file-stop-signal.ts';
import { FolderArtifactStore } from '../../shared/files/folder-artifact-store.ts';
import { JsonlSampleSink, readJsonlSamples } from '../../shared/files/jsonl-sample-sink.ts';
import type { JobManifest } from '../../shared/manifest.ts';
import { CUSTOM_DIFFUSION_DEFAULTS, LORA_DEFAULTS, METHOD_DEFAULTS, METHODS } from '../../shared/methods.ts';
import type { PixelImage } from '../../trainer-image/src/train/batches.ts';
import { CHECKPOINT_PREFIX } from '../../trainer-image/src/train/checkpoint.ts';
import type { GenerateImages } from '../../trainer-image/src/train/class-images.ts';
import { loadTrainingImages } from '../../trainer-image/src/train/images.ts';
import { modelResolution } from '../../trainer-image/src/train/model-resolution.ts';
import { loadOnnxModel } from '../../trainer-image/src/train/onnx-model.ts';
import { LOOP_DEFAULTS, type RunDeps } from '../../trainer-image/src/train/personalize.ts';
import { type JobRunResult, runJob } from '../../trainer-image/src/train/run-job.ts';
import {
  generateOnnxImages,
  modelSampleGuidance,
  type RenderSamples,
  renderOnnxSamples,
} from '../../trainer-image/src/train/sampler.ts';
import {
  boundedOption,
  type CliIo,
  type Command,
  type OptionSpec,
  parseOptions,
  stringOption,
} from '../command.ts';
import { EMBEDDED_MODEL_HELP, JOB_OPTIONS, JOB_USAGE, jobFromOptions } from '../job-options.ts';
import { DEFAULT_MODEL, defaultModelDir, isEmbeddedModel, projectRoot } from '../project-files.ts';
import { createProgress } from './train-progress.ts';
import { writeStandaloneOutputs } from './train-report.ts';

export { manifestFromFlags } from '../job-options.ts';
export { progressBar } from './train-progress.ts';

/** One line per method with its defaults, from the one table of method defaults (shared/methods.ts). */
const METHOD_HELP = METHODS.map((m) => {
  const d = METHOD_DEFAULTS[m];
  return (
    `    ${m}: lr ${d.learningRate}${d.scaleLr ? ' × batch' : ''}, batch ${d.batchSize}, ` +
    `cap ${d.maxSteps}, DVAR W=${d.window} α=${d.threshold}, eval every ${d.evalEvery}, init '${d.initializerToken}'`
  );
}).join('\n');

const USAGE =
  `plateau train ${JOB_USAGE} [--model <pipelineDir>] [--out <dir>] [--resume] [--checkpoint-every N] ` +
  '[--progress-every N] [--samples N] [--sample-steps N] [--guidance g] [--json]\n' +
  `  --model: a diffusers ONNX pipeline folder (default: the embedded models/${DEFAULT_MODEL}).\n` +
  EMBEDDED_MODEL_HELP +
  '  Defaults per method (unset flags):\n' +
  `${METHOD_HELP}\n` +
  `    LoRA: rank ${LORA_DEFAULTS.rank}, alpha = rank, targets ${LORA_DEFAULTS.targets} (attn1/attn2 q,k,v,out + ff.net.0.proj; 'attention': the 8 attention projections)\n` +
  `    Custom Diffusion: captions "a photo of a <token> <class word>" (class word '${CUSTOM_DIFFUSION_DEFAULTS.classWord}'), ` +
  `grad-norm clip ${CUSTOM_DIFFUSION_DEFAULTS.maxGradNorm}, no K/V gradient at token 0;\n` +
  `    ${CUSTOM_DIFFUSION_DEFAULTS.classImages} class images for prior preservation: those in --class-dir first, the rest drawn with the base model\n` +
  '  Every job flag has the limits of the same field in job.json (docs/contracts.md).\n' +
  '  Outputs under --out (default out/train): output/<token>.safetensors (+ <token>-lora.safetensors for LoRA;\n' +
  '  pytorch_custom_diffusion_weights.safetensors and <token>-cd-delta.safetensors for Custom Diffusion),\n' +
  '  output/report.json,\n' +
  "  output/loss.svg, output/samples/ (N validation images with the token, DDIM + --guidance: the model's own\n" +
  '  (3 on the embedded model) or 7.5; Custom Diffusion prompts name "<token> <class word>", as it trains; and\n' +
  '  contact-sheet.png; --samples 0 skips them), samples.jsonl (one line per step), checkpoints/.\n' +
  '  `touch <out>/STOP` stops the run at its next flush (it can be resumed with --resume).\n' +
  '  Progress: a live bar on a terminal, a line every --progress-every steps otherwise (stderr);\n' +
  '  --json: JSON lines on stdout (start, progress, done) instead.\n' +
  '  Exit codes: 0 the run ended (DVAR, step cap or STOP), 1 an error (bad image, token, model), 2 bad usage.';

/** `plateau train`'s options: the job options every job command shares, and its own. */
const TRAIN_OPTIONS = {
  ...JOB_OPTIONS,
  model: { type: 'string' },
  out: { type: 'string' },
  resume: { type: 'boolean' },
  'checkpoint-every': { type: 'string' },
  'progress-every': { type: 'string' },
  samples: { type: 'string' },
  'sample-steps': { type: 'string' },
  guidance: { type: 'string' },
} as const satisfies OptionSpec;

export interface TrainOptions {
  readonly manifest: JobManifest;
  readonly imagesDir: string;
  readonly classDir?: string;
  readonly pipelineDir: string;
  readonly out: string;
  readonly dvar: boolean;
  readonly resume: boolean;
  readonly json: boolean;
  readonly checkpointEvery: number;
  readonly progressEvery: number;
  readonly sampleCount: number;
  readonly sampleSettings: { readonly steps: number; readonly guidance: number };
}

/** The command line as a validated job and the run's own settings; `root` is the package folder. */
export function parseTrainOptions(args: readonly string[], root: string): TrainOptions {
  const values = parseOptions(args, TRAIN_OPTIONS);
  const model = stringOption(values, 'model');
  const { images, classDir, job } = jobFromOptions(
    values,
    {},
    { embeddedModel: isEmbeddedModel(model, root) },
  );
  const int = (name: string, fallback: number, min: number) =>
    boundedOption(values, name, { integer: true, min }) ?? fallback;
  const pipelineDir = model ? resolve(model) : defaultModelDir(root);
  return {
    manifest: job,
    imagesDir: resolve(images),
    ...(classDir === undefined ? {} : { classDir: resolve(classDir) }),
    pipelineDir,
    out: resolve(stringOption(values, 'out') ?? join('out', 'train')),
    dvar: values['no-dvar'] !== true,
    resume: values.resume === true,
    json: values.json === true,
    checkpointEvery: int('checkpoint-every', LOOP_DEFAULTS.checkpointEvery, 1),
    progressEvery: int('progress-every', 10, 1),
    sampleCount: int('samples', 4, 0),
    sampleSettings: {
      steps: int('sample-steps', 25, 1),
      // The model's own scale where its model_index.json names one (the embedded model's 3), else SD's 7.5.
      guidance:
        boundedOption(values, 'guidance', { min: 0, above: true }) ?? modelSampleGuidance(pipelineDir),
    },
  };
}

/** A folder's images decoded at the training resolution. */
async function loadImages(dir: string, resolution: number): Promise<PixelImage[]> {
  return (await loadTrainingImages(dir, resolution)).map((image) => ({
    data: image.pixels,
    channels: 3,
    height: image.resolution,
    width: image.resolution,
  }));
}

/** Refuses to mix runs in one folder, and clears a STOP file left by an earlier run. */
async function prepareOutFolder(store: FolderArtifactStore, options: TrainOptions): Promise<void> {
  if (!options.resume && (await store.list(CHECKPOINT_PREFIX)).length > 0) {
    throw new Error(
      `${options.out} holds checkpoints of an earlier run: pass --resume to continue it, or choose another --out`,
    );
  }
  // A STOP file is a request to the run that was going when it was made, not to this one.
  await rm(join(options.out, 'STOP'), { force: true });
}

/** The model loader, sampler and class-image generator: real ones, or stand-ins in tests. */
interface TrainDeps {
  readonly loadModel: RunDeps['loadModel'];
  readonly renderSamples: RenderSamples;
  readonly generateImages: GenerateImages;
}

/** Model loading and sampling are injectable so tests can drive the command with stand-ins. */
export function createTrainCommand(
  loadModel: RunDeps['loadModel'] = loadOnnxModel,
  renderSamples: RenderSamples = renderOnnxSamples,
  generateImages: GenerateImages = generateOnnxImages,
): Command {
  return {
    name: 'train',
    summary: 'Learn a token for a concept from a folder of images, stopping by DVAR (standalone)',
    usage: USAGE,
    run: (args, io) =>
      train(parseTrainOptions(args, projectRoot(io)), io, { loadModel, renderSamples, generateImages }),
  };
}

async function train(options: TrainOptions, io: CliIo, deps: TrainDeps): Promise<number> {
  const { manifest, out, dvar, json } = options;
  const store = new FolderArtifactStore(out);
  await prepareOutFolder(store, options);
  const resolution = manifest.training.resolution ?? (await modelResolution(options.pipelineDir));
  const images = await loadImages(options.imagesDir, resolution);
  const classImages = options.classDir ? await loadImages(options.classDir, resolution) : undefined;
  const startedAt = Date.now();
  const progress = createProgress(io, {
    json,
    maxSteps: manifest.training.maxSteps,
    progressEvery: options.progressEvery,
  });
  const result = await runJob(
    { manifest, pipelineDir: options.pipelineDir, images, ...(classImages ? { classImages } : {}) },
    { checkpointEvery: options.checkpointEvery },
    {
      ...deps,
      openSink: (fromStep) => JsonlSampleSink.open(join(out, 'samples.jsonl'), fromStep),
      stopSignal: new FileStopSignal(join(out, 'STOP')),
      store,
      resume: options.resume,
      ...(dvar ? { criterion: () => new DvarTracker(dvarParamsOf(manifest.stop)) } : {}),
      outputFacts: {
        criterion: dvar ? 'dvar' : 'none',
        window: manifest.stop.window,
        threshold: manifest.stop.threshold,
        base_model: options.pipelineDir.split(/[\\/]/).pop() ?? '',
      },
      onReady: ({ resumedFrom, lr, tokenLr }) => {
        progress.start(resumedFrom ?? 0);
        announce(io, options, {
          resumedFrom,
          lr,
          ...(tokenLr === undefined ? {} : { tokenLr }),
          images: images.length,
          resolution,
        });
      },
      onStep: (p) => progress.step(p),
      sampleCount: options.sampleCount,
      sampleSettings: options.sampleSettings,
      log: (line) => io.err.write(`plateau train: ${line}\n`),
    },
  );
  progress.finish();
  const samples = await readJsonlSamples(join(out, 'samples.jsonl'));
  const run = { manifest, result, pipelineDir: options.pipelineDir, dvar, samples };
  await writeStandaloneOutputs(store, { ...run, startedAt, trainStartedAt: progress.startedAt });
  printSummary(io, options, result, startedAt);
  return 0;
}

/** The line that says what is about to train (a JSON `start` event with --json). */
function announce(
  io: CliIo,
  { manifest, dvar, json }: TrainOptions,
  run: { resumedFrom: number | null; lr: number; tokenLr?: number; images: number; resolution: number },
): void {
  const { method, stop } = manifest;
  if (json) {
    const { resumedFrom, lr, tokenLr, images } = run;
    io.out.write(`${JSON.stringify({ event: 'start', method, resumedFrom, lr, tokenLr, images })}\n`);
    return;
  }
  const tokenLr = run.tokenLr === undefined ? '' : ` (token row ${run.tokenLr})`;
  io.err.write(
    `plateau train: ${method}, ${run.images} image(s) at ${run.resolution}px, lr ${run.lr}${tokenLr}, ` +
      `${run.resumedFrom === null ? 'starting at step 0' : `resuming at step ${run.resumedFrom}`}, ` +
      `${dvar ? `DVAR W=${stop.window} α=${stop.threshold}` : 'no criterion'}, cap ${manifest.training.maxSteps} steps\n`,
  );
}

/** The run's summary: one JSON line on stdout (a `done` event with --json), and where the outputs are. */
function printSummary(io: CliIo, options: TrainOptions, result: JobRunResult, startedAt: number): void {
  const summary = {
    method: options.manifest.method,
    embedding: join(options.out, result.outputKey),
    outputs: result.outputKeys.map((key) => join(options.out, key)),
    steps: result.steps,
    stopReason: result.stopReason,
    criterionStep: result.criterionStep,
    finalRatio: result.finalRatio,
    resumedFrom: result.resumedFrom,
    wallSeconds: (Date.now() - startedAt) / 1000,
  };
  if (options.json) {
    io.out.write(`${JSON.stringify({ event: 'done', ...summary })}\n`);
    return;
  }
  io.err.write(
    `plateau train: stopped after ${result.steps} steps (${result.stopReason}); wrote ${summary.embedding}\n`,
  );
  io.out.write(`${JSON.stringify(summary)}\n`);
}

export const trainCommand: Command = createTrainCommand();
