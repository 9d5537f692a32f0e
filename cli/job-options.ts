// The job options `plateau train`, `run` and `submit` share: one table from flag to job.json field, and one parser
// that builds the job.json from the flags and validates it as the pipeline validates an upload (shared/manifest.ts),
// so a value gets the same verdict and the same message in every command and in an uploaded job.json.

import { WORLD_MODEL_TRAINING } from '../models/src/world/training-rates.ts';
import { JobManifest, parseManifest } from '../shared/manifest.ts';
import { isMethodName, METHODS, type MethodName } from '../shared/methods.ts';
import { numberOption, type OptionSpec, type OptionValues, stringOption, UsageError } from './command.ts';

interface JobFlag {
  /** Where the value goes in job.json: a top-level field or one inside a section (training, stop, lora…). */
  readonly field: readonly [string] | readonly [string, string];
  /** text: the string as given; number: parsed, its limits are the schema's; switch: sets `value`. */
  readonly kind: 'text' | 'number' | 'switch';
  readonly value?: unknown;
  /** The value's placeholder in the usage line. */
  readonly hint?: string;
  /** A flag of one method's own section, refused with another method. */
  readonly method?: MethodName;
}

/** Every job.json field a flag sets, in the order the usage lists them. */
export const JOB_FLAGS = {
  token: { field: ['token'], kind: 'text', hint: '"<tok>"' },
  init: { field: ['initializerToken'], kind: 'text', hint: '<word>' },
  method: { field: ['method'], kind: 'text', hint: METHODS.join('|') },
  rank: { field: ['lora', 'rank'], kind: 'number', hint: 'R', method: 'dreambooth-lora' },
  'lora-alpha': { field: ['lora', 'alpha'], kind: 'number', hint: 'a', method: 'dreambooth-lora' },
  'lora-targets': {
    field: ['lora', 'targets'],
    kind: 'text',
    hint: 'paper|attention',
    method: 'dreambooth-lora',
  },
  'class-word': {
    field: ['customDiffusion', 'classWord'],
    kind: 'text',
    hint: 'w',
    method: 'custom-diffusion',
  },
  'class-images': {
    field: ['customDiffusion', 'classImages'],
    kind: 'number',
    hint: 'N',
    method: 'custom-diffusion',
  },
  'no-prior': {
    field: ['customDiffusion', 'priorPreservation'],
    kind: 'switch',
    value: false,
    method: 'custom-diffusion',
  },
  'prior-weight': {
    field: ['customDiffusion', 'priorLossWeight'],
    kind: 'number',
    hint: 'λ',
    method: 'custom-diffusion',
  },
  'no-rescale': {
    field: ['customDiffusion', 'randomRescale'],
    kind: 'switch',
    value: false,
    method: 'custom-diffusion',
  },
  templates: { field: ['templates'], kind: 'text', hint: 'object|style' },
  lr: { field: ['training', 'learningRate'], kind: 'number', hint: 'x' },
  'token-lr': { field: ['training', 'tokenLearningRate'], kind: 'number', hint: 'x' },
  'snr-gamma': { field: ['training', 'snrGamma'], kind: 'number', hint: 'g' },
  'batch-size': { field: ['training', 'batchSize'], kind: 'number', hint: 'B' },
  seed: { field: ['training', 'seed'], kind: 'number', hint: 's' },
  'max-steps': { field: ['training', 'maxSteps'], kind: 'number', hint: 'N' },
  resolution: { field: ['training', 'resolution'], kind: 'number', hint: 'px' },
  window: { field: ['stop', 'window'], kind: 'number', hint: 'W' },
  threshold: { field: ['stop', 'threshold'], kind: 'number', hint: 'a' },
  'eval-every': { field: ['stop', 'evalEvery'], kind: 'number', hint: 'k' },
  'no-dvar': { field: ['stop', 'criterion'], kind: 'switch', value: 'none' },
} as const satisfies Record<string, JobFlag>;

type FlagName = keyof typeof JOB_FLAGS;
const FLAG_NAMES = Object.keys(JOB_FLAGS) as FlagName[];
const flagOf = (name: FlagName): JobFlag => JOB_FLAGS[name];

/** The parseArgs options of the job flags, the instance images and the class-image folder. */
export const JOB_OPTIONS: OptionSpec = {
  images: { type: 'string' },
  'class-dir': { type: 'string' },
  ...Object.fromEntries(
    FLAG_NAMES.map((name) => [
      name,
      { type: flagOf(name).kind === 'switch' ? 'boolean' : 'string' } as const,
    ]),
  ),
  json: { type: 'boolean' },
};

/** The help line on what the embedded model sets differently (withEmbeddedModelTraining). */
export const EMBEDDED_MODEL_HELP =
  "  On the embedded model, --lr, --token-lr and --snr-gamma default to the model's own settings, and Custom\n" +
  '  Diffusion runs without random rescale (models/src/world/training-rates.ts).\n';

/** The job flags for a usage line, e.g. `[--method …] [--rank R] … [--no-dvar]`. */
export const JOB_USAGE = [
  '--images <dir> --token "<tok>"',
  ...FLAG_NAMES.filter((name) => name !== 'token').map((name) => {
    const hint = flagOf(name).hint;
    return `[--${name}${hint ? ` ${hint}` : ''}]`;
  }),
  '[--class-dir <dir>]',
].join(' ');

/** The job.json field path (e.g. `stop.threshold`) → its flag, for error messages. */
const FLAG_BY_FIELD = new Map(FLAG_NAMES.map((name) => [flagOf(name).field.join('.'), name]));

/** A number flag's value; `--class-images <folder>` is pointed to --class-dir. */
function numberFlag(values: OptionValues, name: FlagName): number | undefined {
  try {
    return numberOption(values, name);
  } catch (error) {
    if (name !== 'class-images') throw error;
    throw new UsageError(`${(error as Error).message}; a folder of class images goes in --class-dir`);
  }
}

/**
 * The flags given as a sparse job.json (only what was set: the manifest fills the rest with the method's own
 * defaults). Numbers are parsed here; their limits are left to the schema.
 */
export function manifestInput(values: OptionValues): Record<string, unknown> {
  const method = stringOption(values, 'method');
  if (method === undefined || isMethodName(method)) {
    for (const other of METHODS.filter((m) => m !== (method ?? 'textual-inversion'))) {
      const given = FLAG_NAMES.filter((name) => flagOf(name).method === other && values[name] !== undefined);
      if (given.length > 0) {
        const list = given.map((name) => `--${name}`);
        const named = list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} and ${list.at(-1)}`;
        throw new UsageError(`${named} need${list.length === 1 ? 's' : ''} --method ${other}`);
      }
    }
  }
  const input: Record<string, unknown> = {};
  for (const name of FLAG_NAMES) {
    const flag = flagOf(name);
    if (values[name] === undefined || values[name] === false) continue;
    const value =
      flag.kind === 'switch' ? flag.value : flag.kind === 'number' ? numberFlag(values, name) : values[name];
    const [section, field] = flag.field;
    if (field === undefined) input[section] = value;
    else input[section] = { ...(input[section] as Record<string, unknown> | undefined), [field]: value };
  }
  return input;
}

/** The message for one problem with a field: the flag that set it, or the field's path where no flag did. */
function problemOf(path: string, message: string, values: OptionValues): string {
  const flag = FLAG_BY_FIELD.get(path) ?? (path === 'baseModel' ? 'model' : undefined);
  if (flag === undefined) return `job.json ${path || '(root)'}: ${message}`;
  const given = values[flag];
  return `--${flag}: ${message}${typeof given === 'string' ? ` (got '${given}')` : ''}`;
}

/**
 * Validates a job.json built from flags exactly as the pipeline does: the schema, then parseManifest's own rules
 * (those outside the schema too). A problem is a usage error naming the flag, the pipeline's message for the same
 * job.json, and the value given.
 */
export function validateJob(input: Record<string, unknown>, values: OptionValues): JobManifest {
  const parsed = JobManifest.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) =>
      problemOf(issue.path.join('.'), issue.message, values),
    );
    throw new UsageError(problems.join('; '));
  }
  try {
    parseManifest(new TextEncoder().encode(JSON.stringify(input)));
  } catch (error) {
    // parseManifest's reasons read `invalid job.json: <field>: <why>`.
    const reason = (error as Error).message.replace(/^invalid job\.json: /, '');
    const colon = reason.indexOf(': ');
    throw new UsageError(
      colon < 0 ? `job.json: ${reason}` : problemOf(reason.slice(0, colon), reason.slice(colon + 2), values),
    );
  }
  return parsed.data;
}

/** The job manifest the flags describe, validated (unset flags take the method's defaults). */
export function manifestFromFlags(values: OptionValues): JobManifest {
  return validateJob(manifestInput(values), values);
}

/**
 * DVAR's window and threshold for `plateau dvar`: --window and --threshold with job.json's limits, and unset ones
 * from --method's defaults (textual inversion's without it).
 */
export function dvarFromFlags(values: OptionValues): { readonly window: number; readonly threshold: number } {
  const { method, window, threshold } = values;
  // A stand-in token: the check is of the stop section, with the schema that checks every job.
  const { stop } = manifestFromFlags({ token: '<dvar>', method, window, threshold });
  return { window: stop.window, threshold: stop.threshold };
}

export interface JobFromOptions {
  readonly images: string;
  /** A folder of class images for prior preservation, uploaded to jobs/<jobId>/input/class/. */
  readonly classDir?: string;
  /** The job.json to upload: only the fields the flags set, `extra`, and on the embedded model its own rates. */
  readonly manifest: Record<string, unknown>;
  /** The same, as the pipeline will read it (the method's defaults filled in). */
  readonly job: JobManifest;
}

/**
 * The required --images and --token, the optional --class-dir, and the job.json the flags set, validated;
 * `extra` adds fields the command sets itself (submit's baseModel from --model).
 */
export function jobFromOptions(
  values: OptionValues,
  extra: Readonly<Record<string, unknown>> = {},
  options: { readonly embeddedModel?: boolean } = {},
): JobFromOptions {
  const images = stringOption(values, 'images');
  if (!images) throw new UsageError('--images <dir> is required');
  if (!stringOption(values, 'token')) throw new UsageError('--token "<token>" is required');
  const input = manifestInput(values);
  const manifest = { ...(options.embeddedModel ? withEmbeddedModelTraining(input) : input), ...extra };
  const job = validateJob(manifest, values);
  const classDir = classDirOf(values, job);
  return { images, ...(classDir === undefined ? {} : { classDir }), manifest, job };
}

/** --class-dir, where the job uses class images: Custom Diffusion with prior preservation. */
export function classDirOf(values: OptionValues, job: JobManifest): string | undefined {
  const classDir = stringOption(values, 'class-dir');
  if (classDir === undefined) return undefined;
  if (classDir === '') throw new UsageError('--class-dir needs a folder');
  if (job.method !== 'custom-diffusion') {
    throw new UsageError(
      `--class-dir needs --method custom-diffusion (class images are its prior preservation; this job is ${job.method})`,
    );
  }
  if (!job.customDiffusion.priorPreservation) {
    throw new UsageError('--class-dir and --no-prior contradict: class images are for prior preservation');
  }
  if (job.customDiffusion.classImages === 0) {
    throw new UsageError('--class-dir with --class-images 0: a job that uses no class images');
  }
  return classDir;
}

/** A compact UTC stamp for generated job ids, e.g. 20261127-034512. */
export function jobStamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

/**
 * The embedded model's own learning rates, min-SNR γ and Custom Diffusion augmentation
 * (models/src/world/training-rates.ts) where the flags leave them unset: the paper's defaults are for Stable
 * Diffusion at 512 px, and the method defaults' DVAR settings were chosen on this model with these
 * (docs/benchmark.md).
 */
export function withEmbeddedModelTraining(input: Record<string, unknown>): Record<string, unknown> {
  const method =
    typeof input.method === 'string' && isMethodName(input.method) ? input.method : 'textual-inversion';
  const own = WORLD_MODEL_TRAINING[method];
  const training = (input.training ?? {}) as Record<string, unknown>;
  const customDiffusion = (input.customDiffusion ?? {}) as Record<string, unknown>;
  return {
    ...input,
    ...(own.randomRescale === undefined
      ? {}
      : { customDiffusion: { randomRescale: own.randomRescale, ...customDiffusion } }),
    training: {
      learningRate: own.learningRate,
      ...(own.tokenLearningRate === undefined ? {} : { tokenLearningRate: own.tokenLearningRate }),
      snrGamma: own.snrGamma,
      ...training,
    },
  };
}
