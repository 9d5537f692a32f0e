// `plateau train`: standalone textual inversion with DVAR decided in-process. The output folder mirrors a job's
// layout (checkpoints/, output/<token>.safetensors, samples.jsonl); `touch <out>/STOP` stops the run at its next
// flush; --resume continues from the latest checkpoint bit-for-bit. Progress goes to stderr, a summary to stdout.
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DVAR_DEFAULTS, DvarTracker } from '../../shared/dvar.ts';
import { FileStopSignal } from '../../shared/local/file-stop-signal.ts';
import { FolderArtifactStore } from '../../shared/local/folder-artifact-store.ts';
import { JsonlSampleSink, readJsonlSamples } from '../../shared/local/jsonl-sample-sink.ts';
import { renderLossChart } from '../../shared/loss-chart.ts';
import { CHECKPOINT_PREFIX } from '../../trainer-image/src/train/checkpoint.ts';
import { loadTrainingImages } from '../../trainer-image/src/train/images.ts';
import { modelResolution } from '../../trainer-image/src/train/model-resolution.ts';
import { loadOnnxTiModel } from '../../trainer-image/src/train/onnx-ti-model.ts';
import {
  type RenderSamples,
  renderOnnxSamples,
  type SampleSettings,
  validationPrompts,
} from '../../trainer-image/src/train/sampler.ts';
import {
  runTextualInversion,
  TI_DEFAULTS,
  type TiDeps,
  type TiSettings,
} from '../../trainer-image/src/train/textual-inversion.ts';
import type { PixelImage } from '../../trainer-image/src/train/ti-batches.ts';
import type { StepProgress } from '../../trainer-image/src/train/train-loop.ts';
import { type Command, UsageError } from '../command.ts';
import { DEFAULT_MODEL, defaultModelDir, projectRoot } from '../project-files.ts';

const TI = DVAR_DEFAULTS['textual-inversion'];

const USAGE =
  'plateau train --images <dir> --token "<tok>" --init <word> [--model <pipelineDir>] [--out <dir>] ' +
  '[--max-steps N] [--window W] [--threshold a] [--eval-every k] [--seed s] [--resume] [--no-dvar] ' +
  '[--batch-size B] [--lr x] [--snr-gamma g] [--templates object|style] [--checkpoint-every N] [--progress-every N] ' +
  '[--samples N] [--sample-steps N] [--guidance g] [--json]\n' +
  `  --model: a diffusers ONNX pipeline folder (default: the embedded models/${DEFAULT_MODEL}).\n` +
  '  Outputs under --out (default out/train): output/<token>.safetensors, output/report.json,\n' +
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
  loadModel: TiDeps['loadModel'] = loadOnnxTiModel,
  renderSamples: RenderSamples = renderOnnxSamples,
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
      for (const required of ['images', 'token', 'init'] as const) {
        if (!values[required]) throw new UsageError(`--${required} is required`);
      }
      const templates = values.templates ?? 'object';
      if (templates !== 'object' && templates !== 'style') {
        throw new UsageError(`--templates must be object or style, got '${templates}'`);
      }
      const window = integer('window', values.window, TI.window, 2);
      const threshold = positive('threshold', values.threshold, TI.threshold);
      const settings: TiSettings = {
        ...TI_DEFAULTS,
        token: values.token!,
        initializerToken: values.init!,
        templates,
        learningRate: positive('lr', values.lr, TI_DEFAULTS.learningRate),
        ...(values['snr-gamma'] === undefined
          ? {}
          : { snrGamma: positive('snr-gamma', values['snr-gamma'], 5) }),
        batchSize: integer('batch-size', values['batch-size'], TI_DEFAULTS.batchSize, 1),
        seed: integer('seed', values.seed, TI_DEFAULTS.seed, 0),
        maxSteps: integer('max-steps', values['max-steps'], TI.maxSteps, 1),
        evalEvery: integer('eval-every', values['eval-every'], TI_DEFAULTS.evalEvery, 1),
        checkpointEvery: integer(
          'checkpoint-every',
          values['checkpoint-every'],
          TI_DEFAULTS.checkpointEvery,
          1,
        ),
      };
      const progressEvery = integer('progress-every', values['progress-every'], 10, 1);
      const sampleCount = integer('samples', values.samples, 4, 0);
      const sampleSettings: SampleSettings = {
        seed: settings.seed,
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

      const resolution = await modelResolution(pipelineDir);
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
      const result = await runTextualInversion(settings, {
        pipelineDir,
        images,
        loadModel,
        openSink: (fromStep) => JsonlSampleSink.open(join(out, 'samples.jsonl'), fromStep),
        stopSignal: new FileStopSignal(join(out, 'STOP')),
        store,
        resume: values.resume === true,
        ...(dvar ? { criterion: () => new DvarTracker({ window, threshold }) } : {}),
        outputFacts: {
          criterion: dvar ? 'dvar' : 'none',
          window,
          threshold,
          base_model: pipelineDir.split(/[\\/]/).pop() ?? '',
        },
        onReady: ({ resumedFrom, lr }) => {
          rateFrom = { step: resumedFrom ?? 0, at: Date.now() };
          const line =
            `plateau train: ${images.length} image(s), lr ${lr}, ` +
            `${resumedFrom === null ? 'starting at step 0' : `resuming at step ${resumedFrom}`}, ` +
            `${dvar ? `DVAR W=${window} α=${threshold}` : 'no criterion'}, cap ${settings.maxSteps} steps`;
          if (json)
            io.out.write(`${JSON.stringify({ event: 'start', resumedFrom, lr, images: images.length })}\n`);
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
      });
      // The bar's last frame shows where the run ended (DVAR, cap or STOP), however recent the previous one.
      if (tty && undrawn) showProgress(undrawn);
      if (tty) io.err.write('\n');
      // Validation images of the learned token; the embedding is already written, so a failure here is reported
      // (stderr and report.json) without failing the run.
      const sampleKeys: string[] = [];
      let samplesError: string | null = null;
      if (sampleCount > 0) {
        const prompts = validationPrompts(settings.token, templates).slice(0, sampleCount);
        try {
          const files = await renderSamples(
            pipelineDir,
            { token: settings.token, rows: result.rows },
            prompts,
            sampleSettings,
          );
          for (const file of files) {
            const key = `output/samples/${file.name}`;
            await store.put(key, file.body, file.contentType);
            sampleKeys.push(key);
          }
        } catch (error) {
          samplesError = error instanceof Error ? error.message : String(error);
          io.err.write(`plateau train: validation samples failed: ${samplesError}\n`);
        }
      }
      // Standalone report and chart beside the embedding (the pipeline's finalize writes its own).
      const samples = await readJsonlSamples(join(out, 'samples.jsonl'));
      const trainSeconds = (Date.now() - rateFrom.at) / 1000;
      const trainedHere = result.steps - (result.resumedFrom ?? 0);
      const report = {
        mode: 'standalone',
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
        },
        artifacts: {
          embedding: result.outputKey,
          lossChart: 'output/loss.svg',
          samples: 'samples.jsonl',
          validationImages: sampleKeys,
          ...(samplesError === null ? {} : { validationImagesError: samplesError }),
        },
      };
      const encoder = new TextEncoder();
      const chart = await renderLossChart({
        samples,
        window,
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
        embedding: join(out, result.outputKey),
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
