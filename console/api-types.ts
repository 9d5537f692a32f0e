// The JSON the console's API answers with: the server builds these, the page (console/web/app.ts) reads them.
// Types only, so the browser build strips the import.
import type { TopLevelSpec } from 'vega-lite';
import type { JobStatus } from '../shared/job-record.ts';
import type { JobSummary } from '../shared/job-summary.ts';
import type { JobManifest } from '../shared/manifest.ts';
import type { CustomDiffusionDefaults, LoraDefaults, MethodDefaults, MethodName } from '../shared/methods.ts';
import type { Report } from '../shared/report.ts';

/**
 * A base model's own training settings for one method, where it needs other values than the paper's (the embedded
 * model's, models/src/world/training-rates.ts): the job.json fields they fill.
 */
export interface ModelTrainingSettings {
  /** training.learningRate, before batch scaling. */
  readonly learningRate: number;
  /** training.snrGamma. */
  readonly snrGamma?: number;
  /** training.tokenLearningRate; absent = learningRate. */
  readonly tokenLearningRate?: number;
  /** customDiffusion.randomRescale; absent = the manifest's default. */
  readonly randomRescale?: boolean;
}

/** Base model name (its folder under models/) → its own settings per method. */
export type ModelTrainingTable = Readonly<
  Record<string, { readonly [M in MethodName]?: ModelTrainingSettings }>
>;

/** What the new-job form needs: the methods and their defaults (shared/methods.ts), the loaded base models. */
export interface SetupView {
  readonly methods: readonly MethodName[];
  /** The methods this version trains (the manifest refuses the others). */
  readonly trainable: readonly MethodName[];
  readonly defaults: { readonly [M in MethodName]: MethodDefaults };
  /** DreamBooth-LoRA's own settings. */
  readonly lora: LoraDefaults;
  /** Custom Diffusion's own settings, with the manifest's default for random rescale. */
  readonly customDiffusion: CustomDiffusionDefaults & { readonly randomRescale: boolean };
  readonly models: readonly string[];
  /** The loaded models that have their own settings (the embedded one): the form fills these over the defaults. */
  readonly modelTraining: ModelTrainingTable;
}

/** A job in the list. `UPLOADED`: job.json is in the bucket but submit-job has not created the record yet. */
export interface JobRow {
  readonly jobId: string;
  readonly status: JobStatus | 'UPLOADED';
  readonly summary?: JobSummary;
  readonly createdAt?: string;
  readonly token?: string;
  readonly method?: string;
  readonly baseModel?: string;
  readonly maxSteps?: number;
  /** 1 − steps trained / maxSteps, once the report of a run DVAR stopped exists. */
  readonly budgetSaved?: number;
}

export interface OutputFile {
  /** Relative to jobs/<jobId>/output/. */
  readonly name: string;
  readonly size: number;
  /** `model`: one of the method's trained files (shared/keys.ts methodOutputNames), listed first. */
  readonly kind: 'model' | 'other';
}

export interface SampleImage {
  readonly file: string;
  readonly prompt: string;
  /** The same prompt and seed with the initializer word on the base model (the "before" image), when written. */
  readonly before?: { readonly file: string; readonly prompt: string };
}

export interface JobDetail {
  readonly row: JobRow;
  readonly manifest?: JobManifest;
  readonly report?: Report;
  /** The report's savings in one sentence. */
  readonly savings?: string;
  readonly files: readonly OutputFile[];
  readonly samples: readonly SampleImage[];
  /** The seed the validation samples were drawn with (output/samples/prompts.json). */
  readonly sampleSeed?: number;
  /** The loss chart's Vega-Lite spec (shared/loss-chart.ts, the one loss.svg renders). */
  readonly chart?: TopLevelSpec;
  /** Deterministic-loss values stored so far (the chart's points). */
  readonly points: number;
}
