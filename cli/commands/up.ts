// `plateau up`: the embedded pipeline as a long-lived service — S3 and DynamoDB endpoints on 127.0.0.1 that
// any S3 client can use, jobs processed exactly as the deployed stack would, until SIGINT/SIGTERM.
// With --json it prints one line when ready: the endpoints, names and credentials a client needs, and the
// web console's URL (127.0.0.1, with this start's token).
// The service itself lives in up-service.ts, imported only when `up` runs (it loads aws-cdk-lib and the
// embedded servers, which the other commands never need).
import { resolve } from 'node:path';
import { boundedOption, type Command, parseOptions, stringOption, UsageError } from '../command.ts';
import type { UpOptions } from './up-service.ts';

export function parseUpOptions(args: readonly string[]): UpOptions {
  const values = parseOptions(args, {
    json: { type: 'boolean' },
    state: { type: 'string' },
    model: { type: 'string', multiple: true },
    verbose: { type: 'boolean' },
    'console-port': { type: 'string' },
    'max-trainers': { type: 'string' },
  });
  const port = stringOption(values, 'console-port');
  const consolePort = port === undefined ? undefined : Number(port);
  if (
    consolePort !== undefined &&
    !(Number.isInteger(consolePort) && consolePort > 0 && consolePort < 65536)
  ) {
    throw new UsageError(`--console-port must be a port number (got '${port}')`);
  }
  const state = stringOption(values, 'state');
  const models = values.model;
  const trainers = boundedOption(values, 'max-trainers', { integer: true, min: 1 });
  return {
    json: values.json === true,
    ...(trainers === undefined ? {} : { maxTrainers: trainers }),
    ...(consolePort === undefined ? {} : { consolePort }),
    ...(state ? { stateDir: resolve(state) } : {}),
    models: (Array.isArray(models) ? models : []).map((dir) => resolve(dir)),
    verbose: values.verbose === true,
  };
}

export const upCommand: Command = {
  name: 'up',
  summary: 'Run the embedded pipeline (S3, DynamoDB, monitor, trainer) and its web console until stopped',
  usage:
    'plateau up [--json] [--state <dir>] [--model <dir>]... [--console-port <n>] [--max-trainers <n>] [--verbose]\n' +
    '  the embedded models/plateau-world-32 is always loaded; --model adds more\n' +
    '  --max-trainers: trainers run at once, the rest wait in a FIFO queue (default: what this machine holds)',
  async run(args, io) {
    const options = parseUpOptions(args);
    const until = new Promise<string>((resolveSignal) => {
      process.once('SIGINT', () => resolveSignal('SIGINT'));
      process.once('SIGTERM', () => resolveSignal('SIGTERM'));
    });
    const { runUp } = await import('./up-service.ts');
    return runUp(options, io, until);
  },
};
