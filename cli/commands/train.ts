// `plateau train`: a standalone job (any method) with DVAR decided in-process. The flags become a job manifest,
// validated by the same schema as the pipeline's job.json, and the run is the pipeline trainer's own runJob. The output folder mirrors a job's
// layout (checkpoints/, output/<token>.safetensors, samples.jsonl); `touch <out>/STOP` stops the run at its next
// flush; --resume continues from the latest checkpoint bit-for-bit. Progress goes to stderr, a summary to stdout.
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DvarTracker, dvarParamsOf } from '../../shared/dvar.ts';
import { FileStopSignal } from '../../shared/local/file-stop-signal.ts';
import { FolderArtifactStore } from '../../shared/local/folder-artifact-store.ts';
import { JsonlSampleSink, readJsonlSamples } from '../../shared/local/jsonl-sample-sink.ts';
import { renderLossChart } from '../../shared/loss-chart.ts';
import { JobManifest, type JobManifestInput } from '../../shared/manifest.ts';
import {
  CUSTOM_DIFFUSION_DEFAULTS,
  LORA_DEFAULTS,
  METHOD_DEFAULTS,
  METHODS,
  type MethodName,
} from '../../shared/methods.ts';
import { computeSavings, DEFAULT_GPU_HOUR_PRICE_USD, gpuCostUsd } from '../../shared/savings.ts';
import type { PixelImage } from '../../trainer-image/src/train/batches.ts';
import { CHECKPOINT_PREFIX } from '../../trainer-image/src/train/checkpoint.ts';
import type { GenerateImages } from '../../trainer-image/src/train/class-images.ts';
import { loadTrainingImages } from '../../trainer-image/src/train/images.ts';
import { modelResolution } from '../../trainer-image/src/train/model-resolution.ts';
import { loadOnnxModel } from '../../trainer-image/src/train/onnx-model.ts';
import { LOOP_DEFAULTS, type RunDeps } from '../../trainer-image/src/train/personalize.ts';
import { runJob } from '../../trainer-image/src/train/run-job.ts';
import {
  generateOnnxImages,
  type RenderSamples,
  renderOnnxSamples,
} from '../../trainer-image/src/train/sampler.ts';
import type { StepProgress } from '../../trainer-image/src/train/train-loop.ts';
import { type Command, UsageError } from '../command.ts';
import { METHOD_OPTIONS } from '../job-options.ts';
import { DEFAULT_MODEL, defaultModelDir, projectRoot } from '../project-files.ts';

/** One line per method with its defaults, from the one table of method defaults (shared/methods.ts). */
const METHOD_HELP = METHODS.map((m) => {
  const d = METHOD_DEFAULTS[m];
  return (
    `    ${m}: lr ${d.learningRate}${d.scaleLr ? ' × batch' : ''}, batch ${d.batchSize}, ` +
    `cap ${d.maxSteps}, DVAR W=${d.window} α=${d.threshold}, eval every ${d.evalEvery}, init '${d.initializerToken}'`
  );
}).join('\n');

const USAGE =
  'plateau train --images <dir> --token "<tok>" [--init <word>] [--model <pipelineDir>] [--out <dir>] ' +
  '[--method textual-inversion|dreambooth-lora|custom-diffusion] [--rank R] [--lora-alpha a] ' +
  '[--lora-targets paper|attention] [--class-word w] [--class-images N] [--no-prior] ' +
  '[--max-steps N] [--window W] [--threshold a] [--eval-every k] [--seed s] [--resume] [--no-dvar] ' +
  '[--batch-size B] [--lr x] [--snr-gamma g] [--resolution px] [--templates object|style] [--checkpoint-every N] ' +
  '[--progress-every N] [--samples N] [--sample-steps N] [--guidance g] [--json]\n' +
  `  --model: a diffusers ONNX pipeline folder (default: the embedded models/${DEFAULT_MODEL}).\n` +
  '  Defaults per method (unset flags):\n' +
  `${METHOD_HELP}\n` +
  `    LoRA: rank ${LORA_DEFAULTS.rank}, alpha = rank, targets ${LORA_DEFAULTS.targets} (attn1/attn2 q,k,v,out + ff.net.0.proj; 'attention': the 8 attention projections)\n` +
  `    Custom Diffusion: captions "a photo of a <token> <class word>" (class word '${CUSTOM_DIFFUSION_DEFAULTS.classWord}'), ` +
  `grad-norm clip ${CUSTOM_DIFFUSION_DEFAULTS.maxGradNorm}, no K/V gradient at token 0\n` +
  '  Outputs under --out (default out/train): output/<token>.safetensors (+ <token>-lora.safetensors for LoRA;\n' +
  '  pytorch_custom_diffusion_weights.safetensors and <token>-cd-delta.safetensors for Custom Diffusion),\n' +
  '  output/report.json,\n' +
  '  output/loss.svg, output/samples/ (N validation images with the token, DDIM + guidance, and\n' +
  '  contact-sheet.png; --samples 0 skips them), samples.jsonl (one line per step), checkpoints/.\n' +
  '  `touch <out>/STOP` stops the run at its next flush (it can be resumed with --resume).\n' +
  '  Progress: a live bar on a terminal, a line every --progress-every steps otherwise (stderr);\n' +
  '  --json: JSON lines on stdout (start, progress, done) instead.\n' +
  '  Exit codes: 0 the run ended (DVAR, step cap or STOP), 1 an error (bad image, token, model), 2 bad usage.';

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${text}'`);
  return value;
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`--${name} must be a number > 0, got '${text}'`);
  return value;
}

/** 95 → "1m35s", for the ETA (an upper bound: DVAR usually stops long before the cap). */
function formatSeconds(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** `[██████░░░░░░] 50%`: the share of the step cap done (DVAR usually ends the run before the bar fills). */
export function progressBar(done: number, total: number, width = 20): string {
  const share = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(share * width);
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%`;
}

/** On a terminal the progress line is redrawn at most this often (every step would flood a slow terminal). */
const TTY_REDRAW_MS = 100;

/** Draws the validation images for the learned token: the files for output/samples/. */
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
    async run(args, io) {
      let parsed: ReturnType<typeof parse>;
      try {
        parsed = parse(args);
      } catch (error) {
        if (error instanceof UsageError) throw error;
        throw new UsageError(error instanceof Error ? error.message : String(error));
      }
      const { values } = parsed;
      for (const required of ['images', 'token'] as const) {
        if (!values[required]) throw new UsageError(`--${required} is required`);
      }
      const manifest = manifestFromFlags(values);
      const method: MethodName = manifest.method;
      const { window, threshold } = manifest.stop;
      const settings = {
        token: manifest.token,
        maxSteps: manifest.training.maxSteps,
        evalBatchSize: manifest.stop.evalBatchSize,
        evalEvery: manifest.stop.evalEvery,
        seed: manifest.training.seed,
      };
      const checkpointEvery = integer(
        'checkpoint-every',
        values['checkpoint-every'],
        LOOP_DEFAULTS.checkpointEvery,
        1,
      );
      const progressEvery = integer('progress-every', values['progress-every'], 10, 1);
      const sampleCount = integer('samples', values.samples, 4, 0);
      const sampleSettings = {
        steps: integer('sample-steps', values['sample-steps'], 25, 1),
        guidance: positive('guidance', values.guidance, 7.5),
      };
      const dvar = !values['no-dvar'];
      const pipelineDir = values.model ? resolve(values.model) : defaultModelDir(projectRoot(io));
      const out = resolve(values.out ?? join('out', 'train'));
      const store = new FolderArtifactStore(out);

      if (!values.resume && (await store.list(CHECKPOINT_PREFIX)).length > 0) {
        throw new Error(
          `${out} holds checkpoints of an earlier run: pass --resume to continue it, or choose another --out`,
        );
      }
      // A STOP file is a request to the run that was going when it was made, not to this one.
      await rm(join(out, 'STOP'), { force: true });

      const resolution = manifest.training.resolution ?? (await modelResolution(pipelineDir));
      const images: PixelImage[] = (await loadTrainingImages(resolve(values.images!), resolution)).map(
        (image) => ({
          data: image.pixels,
          channels: 3,
          height: image.resolution,
          width: image.resolution,
        }),
      );

      const started = Date.now();
      const json = values.json === true;
      // On a terminal the progress line is rewritten in place; in a log or pipe it is one line per report.
      const tty = !json && 'isTTY' in io.err && io.err.isTTY === true;
      let rateFrom = { step: 0, at: started };
      let lastDrawAt = 0;
      let lastDet: number | undefined;
      let undrawn: StepProgress | undefined;
      const showProgress = (p: StepProgress): void => {
        const done = p.step + 1;
        const seconds = (Date.now() - rateFrom.at) / 1000;
        const rate = seconds > 0 ? (done - rateFrom.step) / seconds : 0;
        const eta = rate > 0 ? (settings.maxSteps - done) / rate : null;
        if (json) {
          const event = {
            event: 'progress',
            step: p.step,
            detLoss: p.detLoss ?? null,
            trainLoss: p.trainLoss,
          };
          io.out.write(
            `${JSON.stringify({ ...event, ratio: p.ratio ?? null, stepsPerSecond: rate, etaSeconds: eta })}\n`,
          );
          return;
        }
        const shownDet = tty ? lastDet : p.detLoss;
        const det = shownDet === undefined ? '' : `  det ${shownDet.toPrecision(5)}`;
        const ratio = p.ratio === null || p.ratio === undefined ? '' : `  ratio ${p.ratio.toFixed(3)}`;
        const etaText = eta === null ? '' : `  ETA ≤ ${formatSeconds(eta)}`;
        const line = `step ${done}/${settings.maxSteps}${det}  train ${p.trainLoss.toPrecision(5)}${ratio}  ${rate.toFixed(2)} steps/s${etaText}`;
        io.err.write(tty ? `\r${progressBar(done, settings.maxSteps)} ${line}\u001b[K` : `${line}\n`);
      };
      const result = await runJob(
        { manifest, pipelineDir, images },
        { checkpointEvery },
        {
          loadModel,
          openSink: (fromStep) => JsonlSampleSink.open(join(out, 'samples.jsonl'), fromStep),
          stopSignal: new FileStopSignal(join(out, 'STOP')),
          store,
          resume: values.resume === true,
          ...(dvar ? { criterion: () => new DvarTracker(dvarParamsOf(manifest.stop)) } : {}),
          outputFacts: {
            criterion: dvar ? 'dvar' : 'none',
            window,
            threshold,
            base_model: pipelineDir.split(/[\\/]/).pop() ?? '',
          },
          onReady: ({ resumedFrom, lr }) => {
            rateFrom = { step: resumedFrom ?? 0, at: Date.now() };
            const line =
              `plateau train: ${method}, ${images.length} image(s) at ${resolution}px, lr ${lr}, ` +
              `${resumedFrom === null ? 'starting at step 0' : `resuming at step ${resumedFrom}`}, ` +
              `${dvar ? `DVAR W=${window} α=${threshold}` : 'no criterion'}, cap ${settings.maxSteps} steps`;
            if (json)
              io.out.write(
                `${JSON.stringify({ event: 'start', method, resumedFrom, lr, images: images.length })}\n`,
              );
            else io.err.write(`${line}\n`);
          },
          onStep: (p) => {
            if (p.detLoss !== undefined) lastDet = p.detLoss;
            // A terminal gets a live bar redrawn in place; logs and --json get one report every progressEvery steps.
            const now = Date.now();
            const due = tty ? now - lastDrawAt >= TTY_REDRAW_MS : (p.step + 1) % progressEvery === 0;
            if (!due) {
              undrawn = p;
              return;
            }
            lastDrawAt = now;
            undrawn = undefined;
            showProgress(p);
          },
          renderSamples,
          generateImages,
          sampleCount,
          sampleSettings,
          log: (line) => io.err.write(`plateau train: ${line}\n`),
        },
      );
      // The bar's last frame shows where the run ended (DVAR, cap or STOP), however recent the previous one.
      if (tty && undrawn) showProgress(undrawn);
      if (tty) io.err.write('\n');
      const sampleKeys = result.sampleKeys;
      const samplesError = result.samplesError;
      // Standalone report and chart beside the embedding (the pipeline's finalize writes its own).
      const samples = await readJsonlSamples(join(out, 'samples.jsonl'));
      const trainSeconds = (Date.now() - rateFrom.at) / 1000;
      const trainedHere = result.steps - (result.resumedFrom ?? 0);
      // This process's compute time (a resumed run counts only its own part); priced like the pipeline's report.
      const computeSeconds = (Date.now() - started) / 1000;
      const savings = computeSavings({
        stepsTrained: result.steps,
        budgetSteps: settings.maxSteps,
        gpuSeconds: computeSeconds,
        samples,
      });
      const price = DEFAULT_GPU_HOUR_PRICE_USD.onDemand;
      const report = {
        mode: 'standalone',
        method,
        token: settings.token,
        baseModel: pipelineDir,
        steps: result.steps,
        stopReason: result.stopReason,
        criterionStep: result.criterionStep,
        stopLatencySteps: result.criterionStep === null ? null : result.steps - 1 - result.criterionStep,
        maxSteps: settings.maxSteps,
        dvar: {
          criterion: dvar ? 'dvar' : 'none',
          window,
          threshold,
          evalBatchSize: settings.evalBatchSize,
          evalEvery: settings.evalEvery,
          finalRatio: result.finalRatio,
        },
        timings: {
          wallSeconds: (Date.now() - started) / 1000,
          trainSeconds,
          stepsPerSecond: trainSeconds > 0 ? trainedHere / trainSeconds : null,
          resumedFrom: result.resumedFrom,
          // Prior preservation's class images drawn with the base model before training (not in trainSeconds).
          ...(result.classImages ? { classImagesSeconds: result.classImages.seconds } : {}),
        },
        ...(result.classImages ? { classImages: result.classImages } : {}),
        artifacts: {
          embedding: result.outputKey,
          outputs: result.outputKeys,
          lossChart: 'output/loss.svg',
          samples: 'samples.jsonl',
          validationImages: sampleKeys,
          ...(samplesError === null ? {} : { validationImagesError: samplesError }),
        },
        savings,
        cost: {
          gpuHourPriceUsd: price,
          estimatedUsd: gpuCostUsd(savings.gpuSeconds, price),
          fullBudgetUsd: gpuCostUsd(savings.fullBudgetGpuSeconds, price),
          savedFraction: savings.savedFraction,
          note: `estimate: this run's seconds on a GPU at $${price}/GPU-hour (the cloud stack's default instance)`,
        },
      };
      const encoder = new TextEncoder();
      const chart = await renderLossChart({
        samples,
        window: dvarParamsOf(manifest.stop).window,
        threshold,
        ...(result.criterionStep === null ? {} : { criterionStep: result.criterionStep }),
        title: `${settings.token}: ${result.stopReason} after ${result.steps} steps`,
      });
      await store.put('output/loss.svg', encoder.encode(chart), 'image/svg+xml');
      await store.put(
        'output/report.json',
        encoder.encode(`${JSON.stringify(report, null, 2)}\n`),
        'application/json',
      );

      const summary = {
        method,
        embedding: join(out, result.outputKey),
        outputs: result.outputKeys.map((key) => join(out, key)),
        steps: result.steps,
        stopReason: result.stopReason,
        criterionStep: result.criterionStep,
        finalRatio: result.finalRatio,
        resumedFrom: result.resumedFrom,
        wallSeconds: (Date.now() - started) / 1000,
      };
      if (json) {
        io.out.write(`${JSON.stringify({ event: 'done', ...summary })}\n`);
      } else {
        io.err.write(
          `plateau train: stopped after ${result.steps} steps (${result.stopReason}); wrote ${summary.embedding}\n`,
        );
        io.out.write(`${JSON.stringify(summary)}\n`);
      }
      return 0;
    },
  };
}

type Flags = ReturnType<typeof parse>['values'];

/**
 * The flags as a job manifest, validated by the pipeline's own schema: unset flags take the method's defaults
 * (shared/methods.ts), and a bad value is a usage error naming the field.
 */
export function manifestFromFlags(values: Flags): JobManifest {
  const method = values.method ?? 'textual-inversion';
  if (!(METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`--method must be one of ${METHODS.join(', ')}, got '${method}'`);
  }
  const num = (name: keyof Flags): number | undefined => {
    const text = values[name];
    if (typeof text !== 'string') return undefined;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value))
      throw new UsageError(`--${name} must be a number, got '${text}'`);
    return value;
  };
  const defined = <T extends Record<string, unknown>>(o: T): Partial<T> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  const isLora = method === 'dreambooth-lora';
  if (!isLora && (values.rank ?? values['lora-alpha'] ?? values['lora-targets']) !== undefined) {
    throw new UsageError('--rank, --lora-alpha and --lora-targets need --method dreambooth-lora');
  }
  const isCd = method === 'custom-diffusion';
  if (!isCd && (values['class-word'] ?? values['class-images'] ?? values['no-prior']) !== undefined) {
    throw new UsageError('--class-word, --class-images and --no-prior need --method custom-diffusion');
  }
  const input = {
    method,
    token: values.token,
    ...defined({ initializerToken: values.init, templates: values.templates }),
    training: defined({
      learningRate: num('lr'),
      snrGamma: num('snr-gamma'),
      batchSize: num('batch-size'),
      seed: num('seed'),
      maxSteps: num('max-steps'),
      resolution: num('resolution'),
    }),
    stop: defined({
      criterion: values['no-dvar'] ? 'none' : undefined,
      window: num('window'),
      threshold: num('threshold'),
      evalEvery: num('eval-every'),
    }),
    ...(isLora
      ? { lora: defined({ rank: num('rank'), alpha: num('lora-alpha'), targets: values['lora-targets'] }) }
      : {}),
    ...(isCd
      ? {
          customDiffusion: defined({
            classWord: values['class-word'],
            classImages: num('class-images'),
            priorPreservation: values['no-prior'] ? false : undefined,
          }),
        }
      : {}),
  } as JobManifestInput;
  const parsed = JobManifest.safeParse(input);
  if (!parsed.success) {
    const flagOf: Record<string, string> = {
      initializerToken: '--init',
      'training.learningRate': '--lr',
      'training.snrGamma': '--snr-gamma',
      'training.batchSize': '--batch-size',
      'training.seed': '--seed',
      'training.maxSteps': '--max-steps',
      'training.resolution': '--resolution',
      'stop.window': '--window',
      'stop.threshold': '--threshold',
      'stop.evalEvery': '--eval-every',
      'lora.rank': '--rank',
      'lora.alpha': '--lora-alpha',
      'lora.targets': '--lora-targets',
      'customDiffusion.classWord': '--class-word',
      'customDiffusion.classImages': '--class-images',
    };
    const problems = parsed.error.issues.map((issue) => {
      const path = issue.path.join('.');
      return `${flagOf[path] ?? (path || 'flags')}: ${issue.message}`;
    });
    throw new UsageError(problems.join('; '));
  }
  return parsed.data;
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      model: { type: 'string' },
      images: { type: 'string' },
      token: { type: 'string' },
      init: { type: 'string' },
      ...METHOD_OPTIONS,
      resolution: { type: 'string' },
      out: { type: 'string' },
      'max-steps': { type: 'string' },
      window: { type: 'string' },
      threshold: { type: 'string' },
      'eval-every': { type: 'string' },
      seed: { type: 'string' },
      resume: { type: 'boolean' },
      'no-dvar': { type: 'boolean' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      'snr-gamma': { type: 'string' },
      templates: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      'progress-every': { type: 'string' },
      samples: { type: 'string' },
      'sample-steps': { type: 'string' },
      guidance: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
}

export const trainCommand: Command = createTrainCommand();
