// The job manifest (`jobs/<jobId>/input/job.json`), validated with zod. Every field but `token` has a default:
// the paper's Textual Inversion settings (docs/contracts.md), so `{"token": "<my-cat>"}` is a complete job.
import { z } from 'zod';
import { isSafeName } from './keys.ts';

/** The base model used when the manifest names none: `models/<DEFAULT_BASE_MODEL>/` in the bucket. */
export const DEFAULT_BASE_MODEL = 'default';
/** Manifests are small; anything larger is rejected before parsing. */
export const MAX_MANIFEST_BYTES = 64 * 1024;

/**
 * The placeholder token: it becomes the safetensors key and the output file name, so it is one printable
 * segment without slashes, whitespace or traversal (e.g. `<my-cat>`).
 */
const Token = z
  .string()
  .min(1)
  .max(64)
  .regex(
    /^[A-Za-z0-9<>_.*@#$%&+=~-]+$/,
    'token: letters, digits and <>_.*@#$%&+=~- only, no spaces or slashes',
  )
  .refine((value) => !value.includes('..') && value !== '.', 'token must not contain ".."');

const Training = z.object({
  learningRate: z.number().positive().max(1).default(5e-3),
  /** Multiply the learning rate by batchSize (diffusers' scale_lr). */
  scaleLr: z.boolean().default(true),
  batchSize: z.number().int().min(1).max(64).default(2),
  /** Image side in pixels; absent = the model's native resolution. */
  resolution: z.number().int().min(8).max(2048).multipleOf(8).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 31 - 1)
    .default(59),
  maxSteps: z.number().int().min(1).max(100_000).default(6100),
  /** Min-SNR-γ loss weights (Hang et al., 2023); absent = the paper's plain MSE. */
  snrGamma: z.number().positive().max(1000).optional(),
});

const Stop = z.object({
  /** `none` trains to maxSteps (the fixed-budget baseline). */
  criterion: z.enum(['dvar', 'none']).default('dvar'),
  window: z.number().int().min(2).max(100_000).default(310),
  threshold: z.number().positive().max(1).default(0.15),
  evalBatchSize: z.number().int().min(1).max(64).default(4),
  evalEvery: z.number().int().min(1).max(1000).default(1),
});

const Notify = z.object({
  /** Receives the completion event as a signed POST (https only). */
  webhookUrl: z
    .url({ protocol: /^https$/, hostname: z.regexes.domain })
    .max(2048)
    .optional(),
});

export const JobManifest = z.object({
  method: z.literal('textual-inversion').default('textual-inversion'),
  token: Token,
  initializerToken: z
    .string()
    .min(1)
    .max(64)
    .regex(/^\S+$/, 'initializerToken is one word')
    .default('object'),
  baseModel: z
    .string()
    .refine(isSafeName, 'baseModel is a folder name under models/')
    .default(DEFAULT_BASE_MODEL),
  templates: z.enum(['object', 'style']).default('object'),
  training: Training.prefault({}),
  stop: Stop.prefault({}),
  notify: Notify.prefault({}),
});
export type JobManifest = z.infer<typeof JobManifest>;
export type JobManifestInput = z.input<typeof JobManifest>;

/** Parses manifest bytes; throws an Error whose message lists every problem, for the job's failure reason. */
export function parseManifest(bytes: Uint8Array): JobManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new Error(`job.json is ${bytes.byteLength} bytes; the limit is ${MAX_MANIFEST_BYTES}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new Error(`job.json is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  const parsed = JobManifest.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`invalid job.json: ${problems.join('; ')}`);
  }
  return parsed.data;
}
