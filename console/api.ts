// The console's JSON API: setup for the form, the job list and a job's page (job-views.ts), the new-job uploads
// (job-upload.ts), cancel (the request `plateau cancel` makes) and output downloads. Routes only; access.ts has
// already let the request in.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestCancel } from '../shared/job-record.ts';
import { isValidJobId, jobKeys } from '../shared/keys.ts';
import { MAX_MANIFEST_BYTES } from '../shared/manifest.ts';
import type { ModelTrainingTable } from './api-types.ts';
import type { ConsoleStores } from './console-stores.ts';
import { decodeSegment, HttpError, readBody, send, sendJson } from './http.ts';
import { listModels, MAX_IMAGE_BYTES, putImage, putManifest } from './job-upload.ts';
import type { JobViews } from './job-views.ts';
import { setupView } from './setup-view.ts';

export interface ApiContext {
  readonly stores: ConsoleStores;
  readonly views: JobViews;
  /** Base models' own training settings, by model name (setup-view.ts). */
  readonly modelTraining: ModelTrainingTable;
  readonly log: (line: string) => void;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  png: 'image/png',
  json: 'application/json',
  svg: 'image/svg+xml',
  safetensors: 'application/octet-stream',
};

/** One segment of an output key: outputs are named after the token (`<my-cat>.safetensors`), so not isSafeName. */
function isOutputSegment(segment: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  return segment !== '' && segment !== '.' && segment !== '..' && !/[/\\\u0000-\u001f\u007f]/.test(segment);
}

/** Content-Disposition for a download: an ASCII fallback plus the exact name (RFC 6266 / 5987). */
function attachment(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export async function handleApi(
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  context: ApiContext,
): Promise<void> {
  const { stores, views, modelTraining, log } = context;
  const parts = url.pathname.split('/').slice(2).map(decodeSegment);
  const method = request.method ?? 'GET';
  const [resource, jobId, action, ...rest] = parts;
  if (method === 'GET' && resource === 'setup' && parts.length === 1) {
    return sendJson(response, 200, setupView(await listModels(stores), modelTraining));
  }
  if (resource !== 'jobs') throw new HttpError(404, 'no such API');
  if (jobId === undefined) {
    if (method === 'GET') return sendJson(response, 200, { jobs: await views.list() });
    throw new HttpError(405, 'GET only');
  }
  if (!isValidJobId(jobId)) throw new HttpError(400, `'${jobId.slice(0, 80)}' is not a job id`);
  if (method === 'GET' && action === undefined) {
    const detail = await views.detail(jobId);
    if (!detail) throw new HttpError(404, `no job '${jobId}'`);
    return sendJson(response, 200, detail);
  }
  if (method === 'PUT' && action === 'images' && rest.length === 1 && rest[0]) {
    await putImage(stores, jobId, rest[0], await readBody(request, MAX_IMAGE_BYTES + 1));
    return sendJson(response, 201, { jobId, image: rest[0] });
  }
  if (method === 'PUT' && action === 'manifest' && rest.length === 0) {
    await putManifest(stores, jobId, await readBody(request, MAX_MANIFEST_BYTES + 1));
    log(`[console] job ${jobId} uploaded`);
    return sendJson(response, 201, { jobId });
  }
  if (method === 'POST' && action === 'cancel' && rest.length === 0) {
    // The same request `plateau cancel` makes: the trainer stops at its next flush, finalize ends it.
    if (await requestCancel(stores.jobs, jobId, new Date())) return sendJson(response, 200, { jobId });
    const record = await stores.jobs.get(jobId);
    throw new HttpError(
      409,
      record ? `${jobId} is ${record.status}; it cannot be cancelled now` : 'no such job',
    );
  }
  if (method === 'GET' && action === 'output' && rest.length > 0) {
    if (!rest.every(isOutputSegment)) throw new HttpError(400, 'bad output path');
    const name = rest.join('/');
    const bytes = await stores.objects.get(`${jobKeys(jobId).outputPrefix}${name}`);
    if (!bytes) throw new HttpError(404, `no output ${name}`);
    const extension = name.slice(name.lastIndexOf('.') + 1);
    if (url.searchParams.has('download')) {
      response.setHeader('content-disposition', attachment(rest[rest.length - 1] ?? name));
    }
    return send(response, 200, bytes, CONTENT_TYPES[extension] ?? 'application/octet-stream');
  }
  throw new HttpError(404, 'no such API');
}
