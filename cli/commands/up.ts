// `plateau up`: the embedded pipeline as a long-lived service — S3 and DynamoDB endpoints on 127.0.0.1 that
// any S3 client can use, jobs processed exactly as the deployed stack would, until SIGINT/SIGTERM.
// With --json it prints one line when ready: the endpoints, names and credentials a client needs, and the
// web console's URL (127.0.0.1, with this start's token).
// The service itself lives in up-service.ts, imported only when `up` runs (it loads aws-cdk-lib and the
// embedded servers, which the other commands never need).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type Command, UsageError } from '../command.ts';

export interface UpOptions {
  readonly json: boolean;
  readonly stateDir?: string;
  readonly models: readonly string[];
  readonly verbose: boolean;
  /** The web console's port; any free one when absent. */
  readonly consolePort?: number;
  /** Trainers run at once (the rest queue); absent: PLATEAU_LOCAL_MAX_TRAINERS, else what the machine holds. */
  readonly maxTrainers?: number;
}

export function parseUpOptions(args: readonly string[]): UpOptions {
  let values: {
    json?: boolean;
    state?: string;
    model?: string[];
    verbose?: boolean;
    'console-port'?: string;
    'max-trainers'?: string;
  };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        json: { type: 'boolean' },
        state: { type: 'string' },
        model: { type: 'string', multiple: true },
        verbose: { type: 'boolean' },
        'console-port': { type: 'string' },
        'max-trainers': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const port = values['console-port'];
  const consolePort = port === undefined ? undefined : Number(port);
  if (
    consolePort !== undefined &&
    !(Number.isInteger(consolePort) && consolePort > 0 && consolePort < 65536)
  ) {
    throw new UsageError(`--console-port must be a port number (got '${port}')`);
  }
  const maxTrainers = values['max-trainers'];
  const trainers = maxTrainers === undefined ? undefined : Number(maxTrainers);
  if (trainers !== undefined && !(Number.isInteger(trainers) && trainers >= 1)) {
    throw new UsageError(`--max-trainers must be a whole number ≥ 1 (got '${maxTrainers}')`);
  }
  return {
    json: values.json === true,
    ...(trainers === undefined ? {} : { maxTrainers: trainers }),
    ...(consolePort === undefined ? {} : { consolePort }),
    ...(values.state ? { stateDir: resolve(values.state) } : {}),
    models: (values.model ?? []).map((dir) => resolve(dir)),
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
