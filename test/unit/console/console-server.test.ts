// The console's HTTP API over in-memory stores: the token and Host guard, the new-job uploads in the user's
// order with their checks, the job list and page read from the records and samples, cancel, and downloads.
import { request as httpRequest } from 'node:http';
import type { JobDetail, JobRow, SetupView } from '../../../console/api-types.ts';
import { type ConsoleServer, startConsole } from '../../../console/console-server.ts';
import { JobRecord } from '../../../shared/job-record.ts';
import { jobKeys } from '../../../shared/keys.ts';
import { JobManifest, TRAINABLE_METHODS } from '../../../shared/manifest.ts';
import { CUSTOM_DIFFUSION_DEFAULTS, METHOD_DEFAULTS } from '../../../shared/methods.ts';
import {
  ManualClock,
  MemoryJobStore,
  MemoryObjectStore,
  MemorySamples,
  PNG_BYTES,
} from '../functions/in-memory-ports.ts';

const clock = new ManualClock('2026-01-02T03:04:05.000Z');
const objects = new MemoryObjectStore();
const jobs = new MemoryJobStore(clock);
const samples = new MemorySamples();
let web: ConsoleServer;
let cookie = '';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  json<T>(): T;
}

/** A raw HTTP request (fetch cannot set Host), signed in unless told otherwise. */
function call(
  path: string,
  init: {
    method?: string;
    body?: Uint8Array | string;
    headers?: Record<string, string>;
    anonymous?: boolean;
  } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const changes = init.method !== undefined && init.method !== 'GET';
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: web.port,
        path,
        method: init.method ?? 'GET',
        headers: {
          ...(init.anonymous ? {} : { cookie }),
          ...(changes ? { 'x-plateau-console': '1' } : {}),
          ...init.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            json: <T>() => JSON.parse(body.toString('utf8')) as T,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

beforeAll(async () => {
  web = await startConsole({ projectRoot: process.cwd(), stores: { objects, jobs, samples } });
  await objects.put('models/tiny/model_index.json', new TextEncoder().encode('{}'));
  const signIn = await call(new URL(web.url).pathname + new URL(web.url).search, { anonymous: true });
  expect(signIn.status).toBe(303);
  expect(signIn.headers.location).toBe('/');
  cookie = String(signIn.headers['set-cookie']).split(';')[0] ?? '';
  expect(String(signIn.headers['set-cookie'])).toMatch(/HttpOnly; SameSite=Strict/);
});

afterAll(() => web.close());

describe('access', () => {
  it('serves the page and the local Vega builds to a signed-in browser only', async () => {
    expect((await call('/')).body.toString()).toContain('/vendor/vega-lite.min.js');
    const app = await call('/app.js');
    expect(app.headers['content-type']).toMatch(/javascript/);
    expect(app.body.toString()).not.toMatch(/import type|: HTMLElement/);
    expect((await call('/vendor/vega.min.js')).body.length).toBeGreaterThan(100_000);
    expect((await call('/', { anonymous: true })).status).toBe(403);
    expect((await call('/api/jobs', { anonymous: true })).status).toBe(403);
    expect((await call('/?token=wrong', { anonymous: true })).status).toBe(403);
  });

  it('refuses another Host (DNS rebinding) and changes without the console header (cross-site forms)', async () => {
    expect((await call('/api/jobs', { headers: { host: `evil.example:${web.port}` } })).status).toBe(403);
    const noHeader = await call('/api/jobs/x/cancel', {
      method: 'POST',
      headers: { 'x-plateau-console': '' },
    });
    expect(noHeader.status).toBe(403);
  });
});

describe('new jobs', () => {
  it('offers the methods and their defaults from shared/methods.ts and the loaded models', async () => {
    const setup = (await call('/api/setup')).json<SetupView>();
    expect(setup.methods).toEqual(['textual-inversion', 'dreambooth-lora', 'custom-diffusion']);
    expect(setup.defaults).toEqual(METHOD_DEFAULTS);
    expect(setup.trainable).toEqual(TRAINABLE_METHODS);
    expect(setup.models).toEqual(['tiny']);
    expect(setup.customDiffusion.classWord).toBe(CUSTOM_DIFFUSION_DEFAULTS.classWord);
    // No model of this console has its own settings (plateau up passes the embedded model's).
    expect(setup.modelTraining).toEqual({});
  });

  it('uploads the images, then job.json, under the user path', async () => {
    const put = await call('/api/jobs/j1/images/a.png', { method: 'PUT', body: PNG_BYTES });
    expect(put.status).toBe(201);
    const manifest = { token: '<cat>', baseModel: 'tiny', stop: { window: 20, evalEvery: 1 } };
    const sent = await call('/api/jobs/j1/manifest', { method: 'PUT', body: JSON.stringify(manifest) });
    expect(sent.status).toBe(201);
    const keys = jobKeys('j1');
    expect([...objects.objects.keys()].filter((k) => k.startsWith('jobs/'))).toEqual([
      `${keys.imagesPrefix}a.png`,
      keys.manifest,
    ]);
    expect(objects.objects.get(`${keys.imagesPrefix}a.png`)?.contentType).toBe('image/png');
    expect(JSON.parse(objects.text(keys.manifest) ?? '')).toEqual(manifest);
  });

  it('takes a DreamBooth-LoRA job with its LoRA settings, as the form sends it', async () => {
    await call('/api/jobs/lora1/images/a.png', { method: 'PUT', body: PNG_BYTES });
    const manifest = {
      method: 'dreambooth-lora',
      token: '<dog>',
      baseModel: 'tiny',
      lora: { rank: 8, targets: 'attention' },
    };
    expect(
      (await call('/api/jobs/lora1/manifest', { method: 'PUT', body: JSON.stringify(manifest) })).status,
    ).toBe(201);
  });

  it.each([
    ['a non-image', '/api/jobs/j2/images/a.png', 'not an image', 415, /not a PNG/],
    ['a bad file name', '/api/jobs/j2/images/a%2Fb.png', PNG_BYTES, 400, /file name/],
    ['a bad job id', '/api/jobs/-x/images/a.png', PNG_BYTES, 400, /job id/],
    ['an existing job', '/api/jobs/j1/images/b.png', PNG_BYTES, 409, /already exists/],
  ])('refuses %s', async (_label, path, body, status, error) => {
    const answer = await call(path, { method: 'PUT', body });
    expect(answer.status).toBe(status);
    expect(answer.json<{ error: string }>().error).toMatch(error);
  });

  it.each([
    ['an invalid manifest', { token: 'has space', baseModel: 'tiny' }, /invalid job.json: token/],
    ['an unknown method', { method: 'dreambooth', token: '<c>' }, /invalid job.json: method/],
    ['a missing base model', { token: '<cat>', baseModel: 'nope' }, /no base model 'nope'/],
    ['a job without images', { token: '<cat>', baseModel: 'tiny' }, /upload the images first/],
  ])('refuses %s', async (_label, manifest, error) => {
    const answer = await call('/api/jobs/j3/manifest', { method: 'PUT', body: JSON.stringify(manifest) });
    expect(answer.status).toBe(400);
    expect(answer.json<{ error: string }>().error).toMatch(error);
    expect(objects.objects.has(jobKeys('j3').manifest)).toBe(false);
  });
});

describe('jobs', () => {
  const manifest = JobManifest.parse({
    token: '<cat>',
    baseModel: 'tiny',
    stop: { window: 3, evalEvery: 1 },
  });

  it('lists a job before and after submit-job created its record, with the CLI summary', async () => {
    expect((await call('/api/jobs')).json<{ jobs: JobRow[] }>().jobs).toEqual([
      { jobId: 'j1', status: 'UPLOADED' },
      { jobId: 'lora1', status: 'UPLOADED' },
    ]);
    const now = clock.now().toISOString();
    await jobs.create(
      JobRecord.parse({ jobId: 'j1', status: 'RUNNING', createdAt: now, updatedAt: now, manifest }),
    );
    samples.byJob.set(
      'j1',
      [4, 3, 2.5, 2.4, 2.39].map((detLoss, step) => ({
        step,
        detLoss,
        trainLoss: 1,
        lr: 0.01,
        wallTimeMs: step,
      })),
    );
    const listed = (await call('/api/jobs')).json<{ jobs: JobRow[] }>().jobs;
    // Jobs without a record yet (no creation time) come first, then the newest.
    expect(listed.map((j) => j.jobId)).toEqual(['lora1', 'j1']);
    const row = listed[1];
    expect(row).toMatchObject({ jobId: 'j1', status: 'RUNNING', token: '<cat>', maxSteps: 6100 });
    expect(row?.summary).toMatchObject({
      step: 4,
      detLoss: 2.39,
      threshold: METHOD_DEFAULTS['textual-inversion'].threshold,
    });
    expect(row?.summary?.ratio).toBeGreaterThan(0);
  });

  it('gives the job page the shared loss-chart spec with the points so far', async () => {
    const detail = (await call('/api/jobs/j1')).json<JobDetail>();
    expect(detail.points).toBe(5);
    expect(JSON.stringify(detail.chart)).toContain('DVAR ratio (W=3)');
    expect(detail.files).toEqual([]);
    expect((await call('/api/jobs/nope')).status).toBe(404);
  });

  it('cancels a running job the way plateau cancel does, once', async () => {
    expect((await call('/api/jobs/j1/cancel', { method: 'POST' })).status).toBe(200);
    expect(await jobs.get('j1')).toMatchObject({ status: 'STOPPING', stopReason: 'cancelled' });
    expect((await call('/api/jobs/j1/cancel', { method: 'POST' })).status).toBe(409);
  });

  it('serves outputs, as attachments when asked, and names the samples with their prompts', async () => {
    const keys = jobKeys('j1');
    await objects.put(keys.embedding('<cat>'), new Uint8Array([1, 2, 3]));
    await objects.put(`${keys.samplesPrefix}0.png`, PNG_BYTES);
    const prompts = { seed: 59, images: [{ file: '0.png', prompt: 'a photo of a <cat>' }] };
    await objects.put(`${keys.samplesPrefix}prompts.json`, new TextEncoder().encode(JSON.stringify(prompts)));
    const file = await call('/api/jobs/j1/output/%3Ccat%3E.safetensors?download=1');
    expect([...file.body]).toEqual([1, 2, 3]);
    expect(file.headers['content-disposition']).toContain("filename*=UTF-8''%3Ccat%3E.safetensors");
    expect((await call('/api/jobs/j1/output/samples/0.png')).headers['content-type']).toBe('image/png');
    expect((await call('/api/jobs/j1/output/nope.bin')).status).toBe(404);
    expect((await call('/api/jobs/j1/output/..%2F..%2Finput%2Fjob.json')).status).toBe(400);
    expect((await call('/api/jobs/j1/output/%E0%A4%A')).status).toBe(400);
    const detail = (await call('/api/jobs/j1')).json<JobDetail>();
    expect(detail.samples).toEqual([{ file: 'samples/0.png', prompt: 'a photo of a <cat>' }]);
    expect(detail.sampleSeed).toBe(59);
    // The method's trained files first (shared/keys.ts), then the rest in key order.
    expect(detail.files.map((f) => [f.name, f.kind])).toEqual([
      ['<cat>.safetensors', 'model'],
      ['samples/0.png', 'other'],
      ['samples/prompts.json', 'other'],
    ]);
  });

  it('pairs each sample with its "before" image (initializer word, same seed) when the trainer wrote one', async () => {
    const keys = jobKeys('j1');
    await objects.put(`${keys.samplesPrefix}initializer/0.png`, PNG_BYTES);
    const prompts = {
      seed: 59,
      images: [
        {
          file: '0.png',
          prompt: 'a photo of a <cat>',
          initializerFile: 'initializer/0.png',
          initializerPrompt: 'a photo of a cat',
        },
      ],
    };
    await objects.put(`${keys.samplesPrefix}prompts.json`, new TextEncoder().encode(JSON.stringify(prompts)));
    const detail = (await call('/api/jobs/j1')).json<JobDetail>();
    expect(detail.samples).toEqual([
      {
        file: 'samples/0.png',
        prompt: 'a photo of a <cat>',
        before: { file: 'samples/initializer/0.png', prompt: 'a photo of a cat' },
      },
    ]);
  });
});

// Last, so the job list above holds j1 and lora1 only.
describe('Custom Diffusion', () => {
  it('takes a Custom Diffusion job with its settings and a token learning rate, as the form sends it', async () => {
    await call('/api/jobs/cd1/images/a.png', { method: 'PUT', body: PNG_BYTES });
    const manifest = {
      method: 'custom-diffusion',
      token: '<dog>',
      baseModel: 'tiny',
      training: { learningRate: 1e-4, tokenLearningRate: 1e-2, snrGamma: 5 },
      customDiffusion: {
        classWord: 'dog',
        classImages: 2,
        priorPreservation: true,
        priorLossWeight: 0.5,
        randomRescale: false,
      },
    };
    expect(
      (await call('/api/jobs/cd1/manifest', { method: 'PUT', body: JSON.stringify(manifest) })).status,
    ).toBe(201);
    expect(JSON.parse(objects.text(jobKeys('cd1').manifest) ?? '')).toEqual(manifest);
  });
});
