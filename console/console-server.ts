// The web console's HTTP server: the page and its assets, and a small JSON API over the stack's stores (job
// list, job page, new-job uploads, cancel, output downloads). Listens on 127.0.0.1 only; access.ts guards it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requestCancel } from '../shared/job-record.ts';
import { isValidJobId, jobKeys } from '../shared/keys.ts';
import { MAX_MANIFEST_BYTES, TRAINABLE_METHODS } from '../shared/manifest.ts';
import { LORA_DEFAULTS, METHOD_DEFAULTS, METHODS } from '../shared/methods.ts';
import { checkAccess, newConsoleToken } from './access.ts';
import type { SetupView } from './api-types.ts';
import type { ConsoleStores } from './console-stores.ts';
import { listModels, MAX_IMAGE_BYTES, putImage, putManifest, UploadError } from './job-upload.ts';
import { JobViews } from './job-views.ts';
import { type Assets, loadAssets } from './static-assets.ts';

export interface ConsoleOptions {
  /** Repository root: the page's files (console/web) and node_modules' Vega builds are read from here. */
  readonly projectRoot: string;
  readonly stores: ConsoleStores;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default a fresh random token */
  readonly token?: string;
  readonly log?: (line: string) => void;
}

export interface ConsoleServer {
  /** Opens the console (carries the token; the page then keeps it in a cookie). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
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

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function send(response: ServerResponse, status: number, body: Uint8Array | string, type: string): void {
  response.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    // Nothing from elsewhere. Vega compiles its expressions with new Function (hence unsafe-eval); blob: images
    // are the drop zone's thumbnails; vega sets inline styles.
    'content-security-policy':
      "default-src 'self'; script-src 'self' 'unsafe-eval'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'",
  });
  response.end(body);
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  send(response, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

async function readBody(request: IncomingMessage, limit: number): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.byteLength;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(buffer);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** Content-Disposition for a download: an ASCII fallback plus the exact name (RFC 6266 / 5987). */
function attachment(name: string): string {
  const ascii = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export async function startConsole(options: ConsoleOptions): Promise<ConsoleServer> {
  const assets: Assets = await loadAssets(options.projectRoot);
  const token = options.token ?? newConsoleToken();
  const stores = options.stores;
  const views = new JobViews(stores);
  const log = options.log ?? (() => {});
  let port = 0;

  async function api(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    const parts = url.pathname.split('/').slice(2).map(decodeURIComponent);
    const method = request.method ?? 'GET';
    const [resource, jobId, action, ...rest] = parts;
    if (method === 'GET' && resource === 'setup' && parts.length === 1) {
      const setup: SetupView = {
        methods: METHODS,
        trainable: TRAINABLE_METHODS,
        defaults: METHOD_DEFAULTS,
        lora: LORA_DEFAULTS,
        models: await listModels(stores),
      };
      return sendJson(response, 200, setup);
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

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const access = checkAccess(request, url, port, token);
    if (access.kind === 'denied')
      return send(response, 403, `plateau console: ${access.reason}\n`, 'text/plain');
    if (access.kind === 'sign-in') {
      response.writeHead(303, { 'set-cookie': access.setCookie, location: url.pathname });
      return response.end();
    }
    if (url.pathname.startsWith('/api/')) {
      api(request, response, url).catch((error: unknown) => {
        const status = error instanceof HttpError || error instanceof UploadError ? error.status : 500;
        const message = error instanceof Error ? error.message : String(error);
        if (status === 500) log(`[console] ${request.method} ${url.pathname}: ${message}`);
        if (!response.headersSent) sendJson(response, status, { error: message });
        else response.end();
      });
      return;
    }
    const asset = request.method === 'GET' ? assets.get(url.pathname) : undefined;
    if (!asset) return send(response, 404, 'not found\n', 'text/plain');
    send(response, 200, asset.body, asset.contentType);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
