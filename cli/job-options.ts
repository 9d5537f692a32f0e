// Command-line options shared by the commands that create a job (`plateau run`, `plateau submit`): parsing with
// clear usage errors, and the job.json fields they set (method, LoRA and Custom Diffusion settings, token, initializer, learning
// rate, min-SNR γ, step cap, DVAR window/threshold).
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { METHODS } from '../shared/methods.ts';
import { UsageError } from './command.ts';

/** The method and its own settings: the same flags for `plateau train`, `run` and `submit`. */
export const METHOD_OPTIONS = {
  method: { type: 'string' },
  rank: { type: 'string' },
  'lora-alpha': { type: 'string' },
  'lora-targets': { type: 'string' },
  'class-word': { type: 'string' },
  'class-images': { type: 'string' },
  'no-prior': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

export const JOB_OPTIONS = {
  images: { type: 'string' },
  token: { type: 'string' },
  init: { type: 'string' },
  ...METHOD_OPTIONS,
  'job-id': { type: 'string' },
  'max-steps': { type: 'string' },
  lr: { type: 'string' },
  'snr-gamma': { type: 'string' },
  window: { type: 'string' },
  threshold: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

export type OptionValues = Record<string, string | boolean | undefined>;

/** node:util parseArgs with strict options and no positionals; its errors become usage errors. */
export function parseOptions(args: readonly string[], options: ParseArgsConfig['options']): OptionValues {
  try {
    return parseArgs({ args: [...args], options, strict: true, allowPositionals: false })
      .values as OptionValues;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export const stringOption = (values: OptionValues, name: string): string | undefined =>
  typeof values[name] === 'string' ? values[name] : undefined;

/** An optional positive integer, or a usage error naming the option. */
export function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--${name} must be a positive integer (got '${value}')`);
  return n;
}

/** An optional number in (0, max], or a usage error naming the option. */
function numberUpTo(name: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(n > 0 && n <= max)) throw new UsageError(`--${name} must be in (0, ${max}] (got '${value}')`);
  return n;
}

/** A compact UTC stamp for generated job ids, e.g. 20261127-034512. */
export function jobStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

/** The required --images and --token, and the job.json fields the shared options set. */
export function jobFromOptions(values: OptionValues): {
  readonly images: string;
  readonly manifest: Record<string, unknown>;
} {
  const images = stringOption(values, 'images');
  const token = stringOption(values, 'token');
  if (!images) throw new UsageError('--images <dir> is required');
  if (!token) throw new UsageError('--token "<token>" is required');
  const maxSteps = positiveInt('max-steps', stringOption(values, 'max-steps'));
  const window = positiveInt('window', stringOption(values, 'window'));
  const threshold = numberUpTo('threshold', stringOption(values, 'threshold'), 1);
  const learningRate = numberUpTo('lr', stringOption(values, 'lr'), 1);
  const snrGamma = numberUpTo('snr-gamma', stringOption(values, 'snr-gamma'), 1000);
  const init = stringOption(values, 'init');
  const method = stringOption(values, 'method');
  if (method !== undefined && !(METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`--method must be one of ${METHODS.join(', ')} (got '${method}')`);
  }
  const rank = positiveInt('rank', stringOption(values, 'rank'));
  const alpha = numberUpTo('lora-alpha', stringOption(values, 'lora-alpha'), 1024);
  const targets = stringOption(values, 'lora-targets');
  const isLora = method === 'dreambooth-lora';
  if (!isLora && (rank !== undefined || alpha !== undefined || targets !== undefined)) {
    throw new UsageError('--rank, --lora-alpha and --lora-targets need --method dreambooth-lora');
  }
  if (targets !== undefined && targets !== 'paper' && targets !== 'attention') {
    throw new UsageError(`--lora-targets must be paper or attention (got '${targets}')`);
  }
  const lora = {
    ...(rank ? { rank } : {}),
    ...(alpha ? { alpha } : {}),
    ...(targets ? { targets } : {}),
  };
  const classWord = stringOption(values, 'class-word');
  const classImagesText = stringOption(values, 'class-images');
  const classImages = classImagesText === '0' ? 0 : positiveInt('class-images', classImagesText);
  const noPrior = values['no-prior'] === true;
  const isCd = method === 'custom-diffusion';
  if (!isCd && (classWord !== undefined || classImages !== undefined || noPrior)) {
    throw new UsageError('--class-word, --class-images and --no-prior need --method custom-diffusion');
  }
  const customDiffusion = {
    ...(classWord ? { classWord } : {}),
    ...(classImages === undefined ? {} : { classImages }),
    ...(noPrior ? { priorPreservation: false } : {}),
  };
  const training = {
    ...(learningRate ? { learningRate } : {}),
    ...(snrGamma ? { snrGamma } : {}),
    ...(maxSteps ? { maxSteps } : {}),
  };
  return {
    images,
    manifest: {
      ...(method ? { method } : {}),
      token,
      ...(isLora && Object.keys(lora).length > 0 ? { lora } : {}),
      ...(isCd && Object.keys(customDiffusion).length > 0 ? { customDiffusion } : {}),
      ...(init ? { initializerToken: init } : {}),
      ...(Object.keys(training).length > 0 ? { training } : {}),
      ...(window || threshold
        ? { stop: { ...(window ? { window } : {}), ...(threshold ? { threshold } : {}) } }
        : {}),
    },
  };
}
