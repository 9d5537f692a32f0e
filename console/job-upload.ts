// The new-job form's uploads, written the way `plateau submit` and any S3 client write a job: the images
// under jobs/<jobId>/input/images/, then input/job.json, whose arrival starts the job. Checked here first
// (image content, the pipeline's own manifest schema, the base model) so a mistake is an answer, not a FAILED job.
import { IMAGE_CONTENT_TYPES, sniffImageType } from '../shared/image-type.ts';
import { isSafeName, isValidJobId, jobKeys, MODELS_PREFIX, modelPrefix } from '../shared/keys.ts';
import { parseManifest } from '../shared/manifest.ts';
import type { ConsoleStores } from './console-stores.ts';
import { HttpError } from './http.ts';

/** Larger photos than this are not what personalization needs (the trainer resizes to the model's size). */
export const MAX_IMAGE_BYTES = 32 * 1024 * 1024;

async function assertNewJob(stores: ConsoleStores, jobId: string): Promise<ReturnType<typeof jobKeys>> {
  if (!isValidJobId(jobId)) throw new HttpError(400, `'${jobId.slice(0, 80)}' is not a valid job id`);
  const keys = jobKeys(jobId);
  if (await stores.objects.head(keys.manifest)) {
    throw new HttpError(409, `job '${jobId}' already exists`);
  }
  return keys;
}

export async function putImage(
  stores: ConsoleStores,
  jobId: string,
  name: string,
  bytes: Uint8Array,
): Promise<void> {
  const keys = await assertNewJob(stores, jobId);
  if (!isSafeName(name)) throw new HttpError(400, `'${name.slice(0, 80)}' is not a usable file name`);
  if (bytes.byteLength > MAX_IMAGE_BYTES) {
    throw new HttpError(413, `${name} is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MiB`);
  }
  const type = sniffImageType(bytes);
  if (!type) throw new HttpError(415, `${name} is not a PNG, JPEG or WebP image (by its content)`);
  await stores.objects.put(`${keys.imagesPrefix}${name}`, bytes, IMAGE_CONTENT_TYPES[type]);
}

/** Validates job.json with the pipeline's own parser (submit-job's) and uploads it last; the pipeline starts. */
export async function putManifest(stores: ConsoleStores, jobId: string, body: Uint8Array): Promise<void> {
  const keys = await assertNewJob(stores, jobId);
  let baseModel: string;
  try {
    ({ baseModel } = parseManifest(body));
  } catch (error) {
    throw new HttpError(400, error instanceof Error ? error.message : String(error));
  }
  if (!(await stores.objects.head(`${modelPrefix(baseModel)}model_index.json`))) {
    throw new HttpError(400, `no base model '${baseModel}' in the bucket (models/<name>/)`);
  }
  if ((await stores.objects.list(keys.imagesPrefix)).length === 0) {
    throw new HttpError(400, 'upload the images first: the job has none');
  }
  await stores.objects.put(keys.manifest, body, 'application/json');
}

/** The base models in the bucket: folders under models/ with a model_index.json. */
export async function listModels(stores: ConsoleStores): Promise<string[]> {
  const names = new Set<string>();
  for (const object of await stores.objects.list(MODELS_PREFIX)) {
    const [name, file] = object.key.slice(MODELS_PREFIX.length).split('/');
    if (name && file === 'model_index.json') names.add(name);
  }
  return [...names].sort();
}
