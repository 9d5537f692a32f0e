// `plateau run`: one job end to end on the embedded pipeline (the same handlers, monitor ASL and trainer as
// the cloud), uploaded like a user would; prints progress and writes the outputs to ./out/<jobId>/.
// The service code lives in run-service.ts, loaded only when the command runs.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../command.ts';

export interface RunOptions {
  readonly imagesDir: string;
  readonly modelDir: string;
  readonly jobId: string;
  readonly outDir: string;
  readonly json: boolean;
  readonly verbose: boolean;
  /** The job.json to upload. */
  readonly manifest: Readonly<Record<string, unknown>>;
}

const positiveInt = (name: string, value: string | undefined) => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer (got '${value}')`);
  return n;
};

export function parseRunOptions(args: readonly string[], now = new Date()): RunOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        images: { type: 'string' },
        token: { type: 'string' },
        init: { type: 'string' },
        model: { type: 'string' },
        'job-id': { type: 'string' },
        out: { type: 'string' },
        'max-steps': { type: 'string' },
        window: { type: 'string' },
        threshold: { type: 'string' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const images = str('images');
  const token = str('token');
  const model = str('model');
  if (!images) throw new UsageError('--images <dir> is required');
  if (!token) throw new UsageError('--token "<token>" is required');
  if (!model) throw new UsageError('--model <dir> is required (a diffusers ONNX pipeline folder)');
  const maxSteps = positiveInt('max-steps', str('max-steps'));
  const window = positiveInt('window', str('window'));
  const thresholdText = str('threshold');
  const threshold = thresholdText === undefined ? undefined : Number(thresholdText);
  if (threshold !== undefined && !(threshold > 0 && threshold <= 1)) {
    throw new UsageError(`--threshold must be in (0, 1] (got '${thresholdText}')`);
  }
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  const jobId = str('job-id') ?? `run-${stamp}`;
  const init = str('init');
  return {
    imagesDir: resolve(images),
    modelDir: resolve(model),
    jobId,
    outDir: resolve(str('out') ?? 'out', jobId),
    json: values.json === true,
    verbose: values.verbose === true,
    manifest: {
      token,
      ...(init ? { initializerToken: init } : {}),
      ...(maxSteps ? { training: { maxSteps } } : {}),
      ...(window || threshold
        ? { stop: { ...(window ? { window } : {}), ...(threshold ? { threshold } : {}) } }
        : {}),
    },
  };
}

export const runCommand: Command = {
  name: 'run',
  summary: 'Personalize a model on this machine through the embedded pipeline; outputs go to ./out/<jobId>/',
  usage:
    'plateau run --images <dir> --token "<tok>" [--init <word>] --model <dir> [--job-id <id>] [--out <dir>] [--max-steps N] [--window W] [--threshold A] [--json] [--verbose]',
  async run(args, io) {
    const options = parseRunOptions(args);
    const { runLocalJob } = await import('./run-service.ts');
    return runLocalJob(options, io);
  },
};
