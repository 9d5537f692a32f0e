// `plateau run`: one job end to end on the embedded pipeline (the same handlers, monitor ASL and trainer as
// the cloud), uploaded like a user would; prints progress and writes the outputs to ./out/<jobId>/.
// The service code lives in run-service.ts, loaded only when the command runs.
import { resolve } from 'node:path';
import { type Command, UsageError } from '../command.ts';
import { JOB_OPTIONS, jobFromOptions, jobStamp, parseOptions, stringOption } from '../job-options.ts';
import { DEFAULT_MODEL, defaultModelDir, projectRoot } from '../project-files.ts';

export interface RunOptions {
  /** The package folder: the trainer and the embedded pipeline's own files are found there. */
  readonly projectRoot: string;
  readonly imagesDir: string;
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

/** `root` is the package folder (the default model lives there); relative paths resolve against cwd. */
export function parseRunOptions(
  args: readonly string[],
  context: { readonly root?: string; readonly now?: Date } = {},
): RunOptions {
  const root = projectRoot(context);
  const values = parseOptions(args, {
    ...JOB_OPTIONS,
    model: { type: 'string' },
    out: { type: 'string' },
    verbose: { type: 'boolean' },
    'gpu-hour-price': { type: 'string' },
    console: { type: 'boolean' },
  });
  const price = stringOption(values, 'gpu-hour-price');
  if (price !== undefined && !(Number(price) >= 0 && Number.isFinite(Number(price)))) {
    throw new UsageError(`--gpu-hour-price must be a non-negative number of USD (got '${price}')`);
  }
  const { images, manifest } = jobFromOptions(values);
  const model = stringOption(values, 'model');
  const jobId = stringOption(values, 'job-id') ?? `run-${jobStamp(context.now ?? new Date())}`;
  return {
    projectRoot: root,
    imagesDir: resolve(images),
    modelDir: model ? resolve(model) : defaultModelDir(root),
    jobId,
    outDir: resolve(stringOption(values, 'out') ?? 'out', jobId),
    json: values.json === true,
    verbose: values.verbose === true,
    console: values.console === true,
    manifest,
    ...(price === undefined ? {} : { gpuHourPriceUsd: Number(price) }),
  };
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Personalize a model on this machine through the embedded pipeline; outputs go to ./out/<jobId>/',
  usage:
    `plateau run --images <dir> --token "<tok>" [--method textual-inversion|dreambooth-lora|custom-diffusion] [--rank R] [--lora-targets paper|attention] [--class-word w] [--class-images N] [--no-prior] [--init <word>] [--model <dir>] [--job-id <id>] [--out <dir>] [--lr x] [--snr-gamma g] [--max-steps N] [--window W] [--threshold A] [--gpu-hour-price usd] [--json] [--verbose] [--console]\n` +
    `  --model: a diffusers ONNX pipeline folder (default: the embedded models/${DEFAULT_MODEL})\n` +
    "  --gpu-hour-price: USD per GPU-hour for the cost estimate in report.json (default: the cloud stack's g5.xlarge price)",
  async run(args, io) {
    const options = parseRunOptions(args, { root: projectRoot(io) });
    const { runLocalJob } = await import('./run-service.ts');
    return runLocalJob(options, io);
  },
};
