// `plateau train`'s own outputs beside the learned files (the pipeline's finalize writes these for a cloud job):
// output/report.json (steps vs the cap, DVAR settings, timings, savings and an estimated cost) and output/loss.svg.
import { dvarParamsOf } from '../../shared/dvar.ts';
import { renderLossChart } from '../../shared/loss-chart.ts';
import type { JobManifest } from '../../shared/manifest.ts';
import type { ArtifactStore, LossSample } from '../../shared/ports.ts';
import { computeSavings, costEstimate, DEFAULT_GPU_HOUR_PRICE_USD } from '../../shared/savings.ts';
import type { JobRunResult } from '../../trainer-image/src/train/run-job.ts';

export interface StandaloneRun {
  readonly manifest: JobManifest;
  readonly result: JobRunResult;
  readonly pipelineDir: string;
  /** Whether DVAR decided (false with --no-dvar: trained to the cap). */
  readonly dvar: boolean;
  /** When this process started, and when its first step started (ms since the epoch). */
  readonly startedAt: number;
  readonly trainStartedAt: number;
  /** The run's loss samples (samples.jsonl). */
  readonly samples: readonly LossSample[];
}

/** report.json's content for a standalone run. */
export function standaloneReport(run: StandaloneRun, now = Date.now()) {
  const { manifest, result, dvar } = run;
  const trainSeconds = (now - run.trainStartedAt) / 1000;
  const trainedHere = result.steps - (result.resumedFrom ?? 0);
  // This process's compute time (a resumed run counts only its own part); priced like the pipeline's report.
  const computeSeconds = (now - run.startedAt) / 1000;
  const savings = computeSavings({
    stepsTrained: result.steps,
    budgetSteps: manifest.training.maxSteps,
    gpuSeconds: computeSeconds,
    samples: run.samples,
  });
  const price = DEFAULT_GPU_HOUR_PRICE_USD.onDemand;
  return {
    mode: 'standalone',
    method: manifest.method,
    token: manifest.token,
    baseModel: run.pipelineDir,
    steps: result.steps,
    stopReason: result.stopReason,
    criterionStep: result.criterionStep,
    stopLatencySteps: result.criterionStep === null ? null : result.steps - 1 - result.criterionStep,
    maxSteps: manifest.training.maxSteps,
    dvar: {
      criterion: dvar ? 'dvar' : 'none',
      window: manifest.stop.window,
      threshold: manifest.stop.threshold,
      evalBatchSize: manifest.stop.evalBatchSize,
      evalEvery: manifest.stop.evalEvery,
      finalRatio: result.finalRatio,
    },
    timings: {
      wallSeconds: computeSeconds,
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
      validationImages: result.sampleKeys,
      ...(result.samplesError === null ? {} : { validationImagesError: result.samplesError }),
    },
    savings,
    cost: costEstimate(
      savings,
      price,
      `estimate: this run's seconds on a GPU at $${price}/GPU-hour (the cloud stack's default instance)`,
    ),
  };
}

/** Writes output/loss.svg and output/report.json to the run's folder. */
export async function writeStandaloneOutputs(store: ArtifactStore, run: StandaloneRun): Promise<void> {
  const { manifest, result } = run;
  const encoder = new TextEncoder();
  const chart = await renderLossChart({
    samples: run.samples,
    window: dvarParamsOf(manifest.stop).window,
    threshold: manifest.stop.threshold,
    ...(result.criterionStep === null ? {} : { criterionStep: result.criterionStep }),
    title: `${manifest.token}: ${result.stopReason} after ${result.steps} steps`,
  });
  await store.put('output/loss.svg', encoder.encode(chart), 'image/svg+xml');
  const report = standaloneReport(run);
  await store.put(
    'output/report.json',
    encoder.encode(`${JSON.stringify(report, null, 2)}\n`),
    'application/json',
  );
}
