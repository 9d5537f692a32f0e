// `plateau submit --images <dir> --token "<tok>"`: uploads a job to a stack the way a user would with any S3
// client — the images first, then jobs/<jobId>/input/job.json, whose arrival starts the job — and prints
// its id. The stack is the embedded `plateau up` (--stack) or a deployed one (--bucket/--table, default AWS
// credentials chain). Images are checked by content first, so a typo fails here rather than as a FAILED job.
// Without --model the job uses the embedded default model, uploaded to the stack first if it lacks it.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { isValidJobId, jobKeys, MODELS_PREFIX } from '../../shared/keys.ts';
import { claimJobId } from '../../shared/submit-claim.ts';
import { type Command, type OptionValues, parseOptions, stringOption, UsageError } from '../command.ts';
import { readImageFolder } from '../image-folder.ts';
import { EMBEDDED_MODEL_HELP, JOB_OPTIONS, JOB_USAGE, jobFromOptions, jobStamp } from '../job-options.ts';
import { DEFAULT_MODEL, defaultModelDir, projectRoot } from '../project-files.ts';
import type { OpenStack } from './open-stack.ts';
import { resolveStackTarget, STACK_OPTIONS, STACK_USAGE } from './stack-target.ts';

export interface SubmitOptions {
  readonly imagesDir: string;
  /** Class images for Custom Diffusion's prior preservation, uploaded to jobs/<jobId>/input/class/. */
  readonly classDir?: string;
  readonly jobId: string;
  readonly json: boolean;
  /** The job.json to upload (validated here with the pipeline's own schema). */
  readonly manifest: Readonly<Record<string, unknown>>;
  readonly stack: OptionValues;
}

export function parseSubmitOptions(args: readonly string[], now = new Date()): SubmitOptions {
  const values = parseOptions(args, {
    ...STACK_OPTIONS,
    ...JOB_OPTIONS,
    model: { type: 'string' },
    'job-id': { type: 'string' },
  });
  // The job is validated with the pipeline's own schema, --model included (it becomes baseModel).
  const baseModel = stringOption(values, 'model') ?? DEFAULT_MODEL;
  const { images, classDir, manifest } = jobFromOptions(
    values,
    { baseModel },
    { embeddedModel: baseModel === DEFAULT_MODEL },
  );
  const jobId =
    stringOption(values, 'job-id') ?? `job-${jobStamp(now)}-${Math.random().toString(36).slice(2, 6)}`;
  if (!isValidJobId(jobId)) throw new UsageError(`--job-id '${jobId}' is not a valid job id`);
  return {
    imagesDir: resolve(images),
    ...(classDir === undefined ? {} : { classDir: resolve(classDir) }),
    jobId,
    json: values.json === true,
    manifest,
    stack: values,
  };
}

/** Every file under dir (recursively), as paths. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Uploads the embedded default model to models/<DEFAULT_MODEL>/ unless the stack already has it. */
async function ensureDefaultModel(objects: OpenStack['objects'], root: string): Promise<boolean> {
  const prefix = `${MODELS_PREFIX}${DEFAULT_MODEL}/`;
  if ((await objects.head(`${prefix}model_index.json`)) !== undefined) return false;
  const dir = defaultModelDir(root);
  for (const file of await listFiles(dir)) {
    await objects.put(`${prefix}${relative(dir, file).split(sep).join('/')}`, await readFile(file));
  }
  return true;
}

export const submitCommand: Command = {
  name: 'submit',
  summary: 'Upload a job (images, then job.json) to a stack (plateau up or deployed) and print its id',
  usage:
    `plateau submit ${JOB_USAGE} [--model <name>] [--job-id <id>] ${STACK_USAGE} [--json]\n` +
    `  --model: a model name under models/ in the bucket (default: ${DEFAULT_MODEL}, uploaded from this package if absent)\n` +
    EMBEDDED_MODEL_HELP +
    '  --class-dir: class images for Custom Diffusion with prior preservation, uploaded to jobs/<jobId>/input/class/\n' +
    '  Every job flag has the limits of the same field in job.json (plateau train --help lists the defaults).',
  async run(args, io) {
    const options = parseSubmitOptions(args);
    const target = resolveStackTarget(options.stack);
    const images = await readImageFolder(options.imagesDir);
    const classImages = options.classDir ? await readImageFolder(options.classDir, '--class-dir') : [];
    const { openStack } = await import('./open-stack.ts');
    const stack = openStack(target);
    try {
      const keys = jobKeys(options.jobId);
      // Atomic: of two submits of one id, exactly one gets past here; the other uploads nothing.
      const claim = await claimJobId(options.jobId, { ...stack, now: () => new Date() });
      if (!claim.claimed) {
        io.err.write(`plateau submit: ${claim.reason} (bucket ${target.bucket})\n`);
        return 1;
      }
      if (
        options.manifest.baseModel === DEFAULT_MODEL &&
        (await ensureDefaultModel(stack.objects, projectRoot(io)))
      ) {
        io.err.write(
          `plateau submit: uploaded the embedded model to s3://${target.bucket}/${MODELS_PREFIX}${DEFAULT_MODEL}/\n`,
        );
      }
      for (const image of images) {
        await stack.objects.put(`${keys.imagesPrefix}${image.name}`, image.bytes, image.contentType);
      }
      for (const image of classImages) {
        await stack.objects.put(`${keys.classImagesPrefix}${image.name}`, image.bytes, image.contentType);
      }
      // Last: its ObjectCreated event starts the job, so everything it refers to must already be there.
      const body = new TextEncoder().encode(JSON.stringify(options.manifest));
      await stack.objects.put(keys.manifest, body, 'application/json');
      io.out.write(
        options.json
          ? `${JSON.stringify({ jobId: options.jobId, bucket: target.bucket, manifest: keys.manifest, images: images.length, classImages: classImages.length })}\n`
          : `${options.jobId}\n`,
      );
      return 0;
    } finally {
      stack.close();
    }
  },
};
