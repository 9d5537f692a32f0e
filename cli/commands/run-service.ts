// `plateau run`'s body: starts the embedded pipeline, submits the job as a user upload (class images from
// --class-dir, then the images and job.json), shows progress, and downloads the outputs. Exit 0 when the job
// SUCCEEDED, 1 otherwise (with the reason). With --console the web console watches the job while it trains.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ConsoleServer, startConsole } from '../../console/console-server.ts';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../infra/embedded/embedded-pipeline.ts';
import {
  downloadOutputs,
  type LocalJobProgress,
  submitLocalJob,
  watchLocalJob,
} from '../../infra/embedded/local-job.ts';
import type { JobRecord } from '../../shared/job-record.ts';
import { jobKeys } from '../../shared/keys.ts';
import { Report } from '../../shared/report.ts';
import { formatSavings } from '../../shared/savings.ts';
import type { CliIo } from '../command.ts';
import { type FolderImage, readImageFolder } from '../image-folder.ts';
import { MODEL_TRAINING } from '../project-files.ts';

export interface RunOptions {
  /** The package folder: the trainer and the embedded pipeline's own files are found there. */
  readonly projectRoot: string;
  readonly imagesDir: string;
  /** Class images for Custom Diffusion's prior preservation, uploaded to jobs/<jobId>/input/class/. */
  readonly classDir?: string;
  readonly modelDir: string;
  readonly jobId: string;
  readonly outDir: string;
  readonly json: boolean;
  readonly verbose: boolean;
  /** Serve the web console over the run's stack while the job trains. */
  readonly console: boolean;
  /** The job.json to upload. */
  readonly manifest: Readonly<Record<string, unknown>>;
  /** USD per GPU-hour for report.json's cost estimate; absent = the deployed stack's default instance price. */
  readonly gpuHourPriceUsd?: number;
}

/** Test seams: a stand-in trainer, faster polling and monitor waits. */
export interface RunOverrides {
  readonly trainerCommand?: readonly string[];
  readonly pollMs?: number;
  readonly waitOverridesMs?: { readonly initial?: number; readonly loop?: number };
}

/** The downloaded report.json, or undefined when the job wrote none (a failed job). */
async function readReport(path: string): Promise<Report | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const parsed = Report.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : undefined;
}

/** The class images go up before job.json (whose arrival starts the job), where the trainer reads them. */
async function uploadClassImages(
  pipeline: EmbeddedPipeline,
  jobId: string,
  images: readonly FolderImage[],
): Promise<void> {
  const prefix = jobKeys(jobId).classImagesPrefix;
  for (const image of images)
    await pipeline.stores.objects.put(`${prefix}${image.name}`, image.bytes, image.contentType);
}

/** One progress line: `[12.3s] RUNNING  step 120  det loss 0.1234  DVAR ratio 0.412`. */
function progressLine(p: LocalJobProgress, elapsed: string): string {
  const parts = [`[${elapsed}] ${p.status}`];
  if (p.step !== undefined) parts.push(`step ${p.step}`);
  if (p.detLoss !== undefined) parts.push(`det loss ${p.detLoss.toPrecision(4)}`);
  if (p.ratio !== undefined) parts.push(`DVAR ratio ${p.ratio.toFixed(3)}`);
  if (p.criterionStep !== undefined) parts.push(`criterion held at step ${p.criterionStep}`);
  return parts.join('  ');
}

/** How the job ended, the saving and the downloaded files (one JSON line with --json). */
function printResult(
  io: CliIo,
  options: RunOptions,
  { record, files, report }: { record: JobRecord; files: readonly string[]; report: Report | undefined },
): void {
  if (!options.json) {
    io.out.write(`${record.status}: job ${record.jobId}${record.error ? ` (${record.error})` : ''}\n`);
    if (report?.savings) io.out.write(`  ${formatSavings(report.savings, report.cost.gpuHourPriceUsd)}\n`);
    for (const file of files) io.out.write(`  ${file}\n`);
    return;
  }
  const summary = {
    jobId: record.jobId,
    status: record.status,
    ...(record.stopReason ? { stopReason: record.stopReason } : {}),
    ...(record.criterionStep === undefined ? {} : { criterionStep: record.criterionStep }),
    ...(record.lastStep === undefined ? {} : { lastStep: record.lastStep }),
    ...(record.error ? { error: record.error } : {}),
    ...(report ? { savings: report.savings, cost: report.cost } : {}),
    outDir: options.outDir,
    files,
  };
  io.out.write(`${JSON.stringify(summary)}\n`);
}

export async function runLocalJob(
  options: RunOptions,
  io: CliIo,
  overrides: RunOverrides = {},
): Promise<number> {
  const started = Date.now();
  // Checked before anything starts: a stray file in the class folder fails here, not as a FAILED job.
  const classImages = options.classDir ? await readImageFolder(options.classDir, '--class-dir') : [];
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const pipeline = await startEmbeddedPipeline({
    projectRoot: options.projectRoot,
    ...(options.gpuHourPriceUsd === undefined ? {} : { gpuHourPriceUsd: options.gpuHourPriceUsd }),
    ...(overrides.trainerCommand ? { trainerCommand: overrides.trainerCommand } : {}),
    ...(overrides.waitOverridesMs ? { waitOverridesMs: overrides.waitOverridesMs } : {}),
    log: (line) => {
      if (options.verbose) io.err.write(`${line}\n`);
    },
  });
  let web: ConsoleServer | undefined;
  try {
    if (options.console) {
      web = await startConsole({
        projectRoot: options.projectRoot,
        stores: pipeline.stores,
        modelTraining: MODEL_TRAINING,
      });
      io.err.write(`plateau run: watch the job in the web console: ${web.url}#/jobs/${options.jobId}\n`);
    }
    await uploadClassImages(pipeline, options.jobId, classImages);
    if (classImages.length > 0)
      io.err.write(`plateau run: ${classImages.length} class image(s) uploaded from ${options.classDir}\n`);
    await submitLocalJob(pipeline, {
      jobId: options.jobId,
      imagesDir: options.imagesDir,
      modelDir: options.modelDir,
      manifest: options.manifest,
    });
    io.err.write(`plateau run: job ${options.jobId} uploaded\n`);
    const record = await watchLocalJob(
      pipeline,
      options.jobId,
      (p) => io.err.write(`${progressLine(p, elapsed())}\n`),
      overrides.pollMs ?? 1000,
    );
    const files = await downloadOutputs(pipeline, options.jobId, options.outDir);
    const report = await readReport(join(options.outDir, 'report.json'));
    printResult(io, options, { record, files, report });
    return record.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await web?.close();
    await pipeline.close();
  }
}
