// The S3 key layout of the one bucket (docs/contracts.md) and the jobId pattern. Every key the pipeline reads or
// writes is built here, and every key that arrives from outside (an S3 event) is parsed and checked here.

import type { MethodName } from './methods.ts';

/** `jobId`: 1–64 characters, letters, digits, `_` and `-`, starting with a letter or digit. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** A single path segment for user-supplied names (images, base models): no slashes, no dot-only names. */
const NAME_PATTERN = /^[A-Za-z0-9._@+=,-][A-Za-z0-9 ._@+=,()-]{0,199}$/;
/** S3 keys are at most 1024 bytes; anything near that is not ours. */
const MAX_KEY_LENGTH = 1024;

export const JOBS_PREFIX = 'jobs/';
export const MODELS_PREFIX = 'models/';
export const MANIFEST_SUFFIX = 'input/job.json';
/** A job's checkpoints, relative to its root (jobs/<jobId>/). */
export const CHECKPOINTS_DIR = 'checkpoints/';
/**
 * The folders of a job's root (jobs/<jobId>/) by who writes them: the user's inputs, the trainer's outputs and its
 * cache of generated class images (the trainer's CLASS_IMAGE_PREFIX). The stack's IAM policies are built from these.
 */
export const JOB_DIRS = { input: 'input/', output: 'output/', classImageCache: 'class-images/' } as const;
/**
 * The object tag every checkpoint carries (set by the S3 artifact store on upload): the bucket's lifecycle
 * rule expires objects with this tag, so checkpoints go after a while and inputs and outputs stay.
 */
export const CHECKPOINT_TAG = { key: 'plateau-kind', value: 'checkpoint' } as const;

export function isValidJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}

export function assertJobId(value: string): string {
  if (!isValidJobId(value)) {
    throw new Error(
      `invalid jobId ${JSON.stringify(value.slice(0, 80))}: must match ${JOB_ID_PATTERN.source}`,
    );
  }
  return value;
}

/** A user-chosen name used as one key segment (an image file, a base model): no traversal, no slashes. */
export function isSafeName(value: string): boolean {
  return NAME_PATTERN.test(value) && !/^\.+$/.test(value) && !value.includes('..');
}

/** Every key of one job, relative to the bucket root. */
export function jobKeys(jobId: string) {
  const root = `${JOBS_PREFIX}${assertJobId(jobId)}/`;
  return {
    root,
    manifest: `${root}${MANIFEST_SUFFIX}`,
    imagesPrefix: `${root}input/images/`,
    /** Uploaded class images for prior preservation (Custom Diffusion); the trainer generates the rest. */
    classImagesPrefix: `${root}input/class/`,
    checkpointsPrefix: `${root}${CHECKPOINTS_DIR}`,
    outputPrefix: `${root}output/`,
    report: `${root}output/report.json`,
    lossChart: `${root}output/loss.svg`,
    samplesPrefix: `${root}output/samples/`,
    /** The learned embedding, `<token>.safetensors` (the token is validated by the manifest schema). */
    embedding: (token: string) => `${root}output/${token}.safetensors`,
    /** Every file a successful job of `method` leaves under output/ besides report, chart and samples. */
    outputs: (method: MethodName, token: string) =>
      methodOutputNames(method, token).map((n) => `${root}output/${n}`),
  };
}

/**
 * The files each method writes under output/, the token file first: the one list the trainer writes, finalize
 * requires and the CLI downloads. LoRA's file is separate from the token's because diffusers takes the kohya path
 * only when every key of a file is a LoRA key.
 */
export function methodOutputNames(method: MethodName, token: string): string[] {
  const tokenFile = `${token}.safetensors`;
  switch (method) {
    case 'textual-inversion':
      return [tokenFile];
    case 'dreambooth-lora':
      return [tokenFile, `${token}-lora.safetensors`];
    case 'custom-diffusion':
      return [tokenFile, 'pytorch_custom_diffusion_weights.safetensors', `${token}-cd-delta.safetensors`];
  }
}

/** Prefix of a base model package in the diffusers ONNX layout. */
export function modelPrefix(name: string): string {
  if (!isSafeName(name)) throw new Error(`invalid model name ${JSON.stringify(name.slice(0, 80))}`);
  return `${MODELS_PREFIX}${name}/`;
}

/**
 * Decodes a key as S3 event notifications carry it (URL-encoded, `+` for space). Returns undefined for
 * anything malformed (bad percent escapes, control characters, over-long).
 */
export function decodeEventKey(raw: string): string | undefined {
  if (raw.length > MAX_KEY_LENGTH * 3) return undefined;
  let key: string;
  try {
    key = decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || /[\u0000-\u001f\u007f\\]/.test(key))
    return undefined;
  return key;
}

/**
 * The jobId of a manifest key `jobs/<jobId>/input/job.json` (already decoded), or undefined when the key is
 * anything else: a different layout, traversal segments, an id that breaks the pattern. Decoding happens
 * once, in decodeEventKey: a `%2e%2e` that survives it is not a valid id character and is rejected here.
 */
export function jobIdFromManifestKey(key: string): string | undefined {
  const parts = key.split('/');
  if (
    parts.length !== 4 ||
    `${parts[0]}/` !== JOBS_PREFIX ||
    parts[2] !== 'input' ||
    parts[3] !== 'job.json'
  ) {
    return undefined;
  }
  const jobId = parts[1] ?? '';
  return isValidJobId(jobId) ? jobId : undefined;
}

/** The image name of a key directly under a job's images prefix, or undefined (nested, hostile, a marker). */
export function imageNameFromKey(jobId: string, key: string): string | undefined {
  const prefix = jobKeys(jobId).imagesPrefix;
  if (!key.startsWith(prefix)) return undefined;
  const name = key.slice(prefix.length);
  return isSafeName(name) ? name : undefined;
}
