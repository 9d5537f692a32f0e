// The job manifest (`jobs/<jobId>/input/job.json`), validated with zod: one variant per method (`method` is the
// discriminator, absent = textual inversion). Every field but `token` has a default, the method's own from
// methods.ts, so `{"token": "<my-cat>"}` is a complete textual-inversion job.
import { z } from 'zod';
import { windowInSamples } from './dvar.ts';
import { isSafeName } from './keys.ts';
import {
  CUSTOM_DIFFUSION_DEFAULTS,
  isMethodName,
  LORA_DEFAULTS,
  METHOD_DEFAULTS,
  type MethodName,
} from './methods.ts';

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

/** Training settings; the defaults are the method's own (methods.ts). */
function trainingFor(method: MethodName) {
  const d = METHOD_DEFAULTS[method];
  return z.strictObject({
    learningRate: z.number().positive().max(1).default(d.learningRate),
    /**
     * The token row's own rate (before scaling) where it should differ from learningRate: Custom Diffusion and
     * DreamBooth-LoRA train the row beside UNet tensors that want a far smaller step. Absent = learningRate.
     */
    tokenLearningRate: z.number().positive().max(1).optional(),
    /** Multiply the learning rate by batchSize (diffusers' scale_lr). */
    scaleLr: z.boolean().default(d.scaleLr),
    batchSize: z.number().int().min(1).max(64).default(d.batchSize),
    /** Image side in pixels; absent = the model's native resolution. */
    resolution: z.number().int().min(8).max(2048).multipleOf(8).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(59),
    maxSteps: z.number().int().min(1).max(100_000).default(d.maxSteps),
    /** Min-SNR-γ loss weights (Hang et al., 2023); absent = the paper's plain MSE. */
    snrGamma: z.number().positive().max(1000).optional(),
  });
}

/** DVAR settings; window, threshold and evalEvery default to the method's own. */
function stopFor(method: MethodName) {
  const d = METHOD_DEFAULTS[method];
  return z.strictObject({
    /** `none` trains to maxSteps (the fixed-budget baseline). */
    criterion: z.enum(['dvar', 'none']).default('dvar'),
    window: z.number().int().min(2).max(100_000).default(d.window),
    threshold: z.number().positive().max(1).default(d.threshold),
    evalBatchSize: z.number().int().min(1).max(64).default(d.evalBatchSize),
    evalEvery: z.number().int().min(1).max(1000).default(d.evalEvery),
  });
}

const Notify = z.strictObject({
  /** Receives the completion event as a signed POST (https only). */
  webhookUrl: z
    .url({ protocol: /^https$/, hostname: z.regexes.domain })
    .max(2048)
    .optional(),
});

/** The fields every method shares, with that method's defaults. */
function common<M extends MethodName>(method: M) {
  return {
    method: z.literal(method),
    token: Token,
    initializerToken: z
      .string()
      .min(1)
      .max(64)
      .regex(/^\S+$/, 'initializerToken is one word')
      .default(METHOD_DEFAULTS[method].initializerToken),
    baseModel: z
      .string()
      .refine(isSafeName, 'baseModel is a folder name under models/')
      .default(DEFAULT_BASE_MODEL),
    templates: z.enum(['object', 'style']).default('object'),
    training: trainingFor(method).prefault({}),
    stop: stopFor(method).prefault({}),
    notify: Notify.prefault({}),
  };
}

/** LoRA beside the UNet's projections: rank r, scale alpha / r (alpha defaults to r: scale 1, the paper's). */
const Lora = z
  .strictObject({
    rank: z.number().int().min(1).max(256).default(LORA_DEFAULTS.rank),
    alpha: z.number().positive().max(1024).optional(),
    targets: z.enum(['paper', 'attention']).default(LORA_DEFAULTS.targets),
  })
  .transform((lora) => ({ ...lora, alpha: lora.alpha ?? lora.rank }));

/** Custom Diffusion's own settings: captions' class word, prior preservation, gradient clip (METHODS.md). */
const CustomDiffusion = z.strictObject({
  /** "a photo of a <token> <classWord>"; also the class prompt of generated class images. */
  classWord: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[\p{L}\p{N} '-]+$/u, 'classWord: letters, digits, spaces, apostrophes and hyphens only')
    .default(CUSTOM_DIFFUSION_DEFAULTS.classWord),
  classImages: z.number().int().min(0).max(1000).default(CUSTOM_DIFFUSION_DEFAULTS.classImages),
  priorPreservation: z.boolean().default(CUSTOM_DIFFUSION_DEFAULTS.priorPreservation),
  priorLossWeight: z.number().min(0).max(100).default(CUSTOM_DIFFUSION_DEFAULTS.priorLossWeight),
  maxGradNorm: z.number().positive().max(1e6).default(CUSTOM_DIFFUSION_DEFAULTS.maxGradNorm),
  /** Masked loss with random rescale of the instance images (the Custom Diffusion code's augmentation). */
  randomRescale: z.boolean().default(true),
});

// Strict at every level: an unknown key (`training.max_steps` for `maxSteps`, say) is refused with its name
// instead of being dropped while the job trains with the default.
const TextualInversionJob = z.strictObject(common('textual-inversion'));
const DreamBoothLoraJob = z.strictObject({ ...common('dreambooth-lora'), lora: Lora.prefault({}) });
const CustomDiffusionJob = z.strictObject({
  ...common('custom-diffusion'),
  customDiffusion: CustomDiffusion.prefault({}),
});

/** The methods this version trains (the manifest refuses the others with a clear reason). */
export const TRAINABLE_METHODS: readonly MethodName[] = [
  'textual-inversion',
  'dreambooth-lora',
  'custom-diffusion',
];

/**
 * The first step at which DVAR can hold: the trainer evaluates at steps 0, e, 2e, … (e = evalEvery) and the
 * criterion needs window + 1 values (with exactly `window` the ratio is 1), so the earliest is window × e, with
 * the window in values as `dvarParamsOf` counts it. The loop trains steps 0 … maxSteps − 1.
 */
export function earliestCriterionStep(stop: { readonly window: number; readonly evalEvery: number }): number {
  return windowInSamples(stop.window, stop.evalEvery) * stop.evalEvery;
}

const Methods = z.discriminatedUnion('method', [TextualInversionJob, DreamBoothLoraJob, CustomDiffusionJob]);

/** A job without `method` is textual inversion (the first manifests had no such field). */
export const JobManifest = z.preprocess((value) => {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && !('method' in value)) {
    return { ...value, method: 'textual-inversion' };
  }
  return value;
}, Methods);
export type JobManifest = z.infer<typeof JobManifest>;
export type JobManifestInput = z.input<typeof Methods>;
export type TextualInversionJob = z.infer<typeof TextualInversionJob>;
export type DreamBoothLoraJob = z.infer<typeof DreamBoothLoraJob>;
export type LoraSettings = DreamBoothLoraJob['lora'];
export type CustomDiffusionJob = z.infer<typeof CustomDiffusionJob>;
export type CustomDiffusionSettings = CustomDiffusionJob['customDiffusion'];

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
  const method = typeof json === 'object' && json !== null && 'method' in json ? json.method : undefined;
  if (typeof method === 'string' && isMethodName(method) && !TRAINABLE_METHODS.includes(method)) {
    throw new Error(`invalid job.json: method: ${method} is not available in this version of plateau yet`);
  }
  const parsed = JobManifest.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`,
    );
    throw new Error(`invalid job.json: ${problems.join('; ')}`);
  }
  const unreachable = unreachableCriterion(parsed.data);
  if (unreachable) throw new Error(`invalid job.json: stop.window: ${unreachable}`);
  return parsed.data;
}

/**
 * Why DVAR cannot hold before the step cap, or undefined when it can (or the job has no criterion). A criterion
 * that can never hold is a fixed-budget run the user did not ask for, so submit refuses it. Checked at submit
 * (parseManifest), not in the schema, so records accepted before this rule still parse.
 */
export function unreachableCriterion(job: JobManifest): string | undefined {
  const earliest = earliestCriterionStep(job.stop);
  if (job.stop.criterion !== 'dvar' || earliest < job.training.maxSteps) return undefined;
  return (
    `window ${job.stop.window} with evalEvery ${job.stop.evalEvery} lets DVAR hold at step ${earliest} at the ` +
    `earliest, not before training.maxSteps ${job.training.maxSteps}: lower stop.window, raise ` +
    'training.maxSteps, or set stop.criterion to "none"'
  );
}
