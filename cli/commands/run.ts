// `plateau run`: one job end to end on the embedded pipeline (the same handlers, monitor ASL and trainer as
// the cloud), uploaded like a user would; prints progress and writes the outputs to ./out/<jobId>/.
// The service code lives in run-service.ts, loaded only when the command runs.
import { resolve } from 'node:path';
import { boundedOption, type Command, type OptionSpec, parseOptions, stringOption } from '../command.ts';
import { EMBEDDED_MODEL_HELP, JOB_OPTIONS, JOB_USAGE, jobFromOptions, jobStamp } from '../job-options.ts';
import { DEFAULT_MODEL, defaultModelDir, isEmbeddedModel, projectRoot } from '../project-files.ts';
import type { RunOptions } from './run-service.ts';

/** `plateau run`'s options: the job options every job command shares, and its own. */
const RUN_OPTIONS = {
  ...JOB_OPTIONS,
  model: { type: 'string' },
  'job-id': { type: 'string' },
  out: { type: 'string' },
  verbose: { type: 'boolean' },
  'gpu-hour-price': { type: 'string' },
  console: { type: 'boolean' },
} as const satisfies OptionSpec;

/** `root` is the package folder (the default model lives there); relative paths resolve against cwd. */
export function parseRunOptions(
  args: readonly string[],
  context: { readonly root?: string; readonly now?: Date } = {},
): RunOptions {
  const root = projectRoot(context);
  const values = parseOptions(args, RUN_OPTIONS);
  const price = boundedOption(values, 'gpu-hour-price', { min: 0 });
  const model = stringOption(values, 'model');
  const { images, classDir, manifest } = jobFromOptions(
    values,
    {},
    { embeddedModel: isEmbeddedModel(model, root) },
  );
  const jobId = stringOption(values, 'job-id') ?? `run-${jobStamp(context.now ?? new Date())}`;
  return {
    projectRoot: root,
    imagesDir: resolve(images),
    ...(classDir === undefined ? {} : { classDir: resolve(classDir) }),
    modelDir: model ? resolve(model) : defaultModelDir(root),
    jobId,
    outDir: resolve(stringOption(values, 'out') ?? 'out', jobId),
    json: values.json === true,
    verbose: values.verbose === true,
    console: values.console === true,
    manifest,
    ...(price === undefined ? {} : { gpuHourPriceUsd: price }),
  };
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Personalize a model on this machine through the embedded pipeline; outputs go to ./out/<jobId>/',
  usage:
    `plateau run ${JOB_USAGE} [--model <dir>] [--job-id <id>] [--out <dir>] [--gpu-hour-price usd] [--json] [--verbose] [--console]\n` +
    `  --model: a diffusers ONNX pipeline folder (default: the embedded models/${DEFAULT_MODEL})\n` +
    EMBEDDED_MODEL_HELP +
    '  --class-dir: class images for Custom Diffusion with prior preservation, uploaded to jobs/<jobId>/input/class/;\n' +
    '    the trainer draws the rest of --class-images with the base model\n' +
    '  Every job flag has the limits of the same field in job.json (plateau train --help lists the defaults).\n' +
    "  --gpu-hour-price: USD per GPU-hour for the cost estimate in report.json (default: the cloud stack's g5.xlarge price)",
  async run(args, io) {
    const options = parseRunOptions(args, { root: projectRoot(io) });
    const { runLocalJob } = await import('./run-service.ts');
    return runLocalJob(options, io);
  },
};
