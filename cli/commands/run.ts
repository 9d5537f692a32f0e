// `plateau run`: one job end to end on the embedded pipeline (the same handlers, monitor ASL and trainer as
// the cloud), uploaded like a user would; prints progress and writes the outputs to ./out/<jobId>/.
// The service code lives in run-service.ts, loaded only when the command runs.
import { resolve } from 'node:path';
import { type Command, UsageError } from '../command.ts';
import { JOB_OPTIONS, jobFromOptions, jobStamp, parseOptions, stringOption } from '../job-options.ts';

export interface RunOptions {
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
}

export function parseRunOptions(args: readonly string[], now = new Date()): RunOptions {
  const values = parseOptions(args, {
    ...JOB_OPTIONS,
    model: { type: 'string' },
    out: { type: 'string' },
    verbose: { type: 'boolean' },
    console: { type: 'boolean' },
  });
  const { images, manifest } = jobFromOptions(values);
  const model = stringOption(values, 'model');
  if (!model) throw new UsageError('--model <dir> is required (a diffusers ONNX pipeline folder)');
  const jobId = stringOption(values, 'job-id') ?? `run-${jobStamp(now)}`;
  return {
    imagesDir: resolve(images),
    modelDir: resolve(model),
    jobId,
    outDir: resolve(stringOption(values, 'out') ?? 'out', jobId),
    json: values.json === true,
    verbose: values.verbose === true,
    console: values.console === true,
    manifest,
  };
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Personalize a model on this machine through the embedded pipeline; outputs go to ./out/<jobId>/',
  usage:
    'plateau run --images <dir> --token "<tok>" [--method textual-inversion|dreambooth-lora|custom-diffusion] [--rank R] [--lora-targets paper|attention] [--class-word w] [--class-images N] [--no-prior] [--init <word>] --model <dir> [--job-id <id>] [--out <dir>] [--lr x] [--snr-gamma g] [--max-steps N] [--window W] [--threshold A] [--json] [--verbose] [--console]',
  async run(args, io) {
    const options = parseRunOptions(args);
    const { runLocalJob } = await import('./run-service.ts');
    return runLocalJob(options, io);
  },
};
