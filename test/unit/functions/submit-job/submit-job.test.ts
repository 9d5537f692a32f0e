// submit-job's logic with in-memory ports: validation failures end FAILED with a reason, a valid job is
// submitted and monitored once, and duplicate, concurrent or replayed events change nothing.
import {
  makeSubmitJobHandler,
  SUBMIT_LEASE_MS,
  type SubmitJobDeps,
} from '../../../../functions/submit-job/submit-job.ts';
import { ENV } from '../../../../shared/env.ts';
import {
  FakeBatch,
  JPEG_BYTES,
  ManualClock,
  MemoryJobStore,
  MemoryMonitor,
  MemoryObjectStore,
  PNG_BYTES,
} from '../in-memory-ports.ts';

const BUCKET = 'bucket';
const encode = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const s3Event = (key: string, bucket = BUCKET) => ({
  Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key, size: 1 } } }],
});

function setup() {
  const clock = new ManualClock();
  const deps = {
    objects: new MemoryObjectStore(),
    jobs: new MemoryJobStore(clock),
    batch: new FakeBatch(),
    monitor: new MemoryMonitor(),
    clock,
    config: {
      bucket: BUCKET,
      table: 'table',
      jobQueue: 'queue',
      jobDefinition: 'def',
      trainerEnvironment: { X: '1' },
    },
  } satisfies SubmitJobDeps;
  const handler = makeSubmitJobHandler(deps);
  const upload = async (
    jobId: string,
    manifest: unknown = { token: '<cat>' },
    images: Record<string, Uint8Array> = { 'a.png': PNG_BYTES },
  ) => {
    for (const [name, body] of Object.entries(images))
      await deps.objects.put(`jobs/${jobId}/input/images/${name}`, body);
    await deps.objects.put(`jobs/${jobId}/input/job.json`, encode(manifest));
  };
  return { deps, handler, upload };
}

async function withModel(deps: SubmitJobDeps, name = 'default') {
  await deps.objects.put(`models/${name}/model_index.json`, encode('{}'));
}

test('a valid job: record created, Batch job submitted with the per-job environment, monitor started, ids recorded', async () => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('job-1', { token: '<cat>' }, { 'photo.jpg': JPEG_BYTES, 'b.png': PNG_BYTES });
  const [outcome] = await handler(s3Event('jobs/job-1/input/job.json'));
  expect(outcome).toEqual({
    outcome: 'submitted',
    jobId: 'job-1',
    batchJobId: 'batch-1',
    executionArn: 'arn:aws:states:us-east-1:123456789012:execution:monitor:job-1',
  });
  expect(deps.batch.submitted).toEqual([
    {
      jobName: 'plateau-job-1',
      jobQueue: 'queue',
      jobDefinition: 'def',
      environment: { X: '1', [ENV.JOB_ID]: 'job-1', [ENV.BUCKET]: BUCKET, [ENV.TABLE]: 'table' },
    },
  ]);
  expect(deps.monitor.started.get('job-1')).toEqual({ jobId: 'job-1', stopRequested: false });
  const record = await deps.jobs.get('job-1');
  expect(record).toMatchObject({
    status: 'QUEUED',
    batchJobId: 'batch-1',
    executionArn: expect.stringContaining('job-1'),
  });
  expect(record?.manifest?.training.maxSteps).toBe(6100);
});

test('a duplicate event creates nothing new', async () => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('dup');
  await handler(s3Event('jobs/dup/input/job.json'));
  const before = await deps.jobs.get('dup');
  const again = await handler(s3Event('jobs/dup/input/job.json'));
  expect(again).toEqual([{ outcome: 'duplicate', jobId: 'dup' }]);
  expect(deps.batch.submitted).toHaveLength(1);
  expect(deps.monitor.started.size).toBe(1);
  expect(await deps.jobs.get('dup')).toEqual(before);
});

test('a replay after a crash between submit and start finishes the remaining steps without resubmitting', async () => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('crash');
  deps.monitor.failStart = undefined;
  // Simulate a crash after SubmitJob was recorded: run the handler, then drop the execution id.
  await handler(s3Event('jobs/crash/input/job.json'));
  const record = deps.jobs.records.get('crash')!;
  deps.jobs.records.set('crash', { ...record, executionArn: undefined });
  deps.monitor.started.clear();
  const [outcome] = await handler(s3Event('jobs/crash/input/job.json'));
  expect(outcome?.outcome).toBe('submitted');
  expect(deps.batch.submitted).toHaveLength(1);
  expect(deps.monitor.started.has('crash')).toBe(true);
});

test('a concurrent invocation holding the submit lease makes the other one back off; an expired lease is taken over', async () => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('lease');
  const now = deps.clock.now().toISOString();
  await deps.jobs.create({
    jobId: 'lease',
    status: 'QUEUED',
    createdAt: now,
    updatedAt: now,
    stopRequested: false,
    attempts: 0,
    submitLeaseUntilMs: deps.clock.ms + SUBMIT_LEASE_MS,
    manifest: undefined,
  });
  expect(await handler(s3Event('jobs/lease/input/job.json'))).toEqual([
    { outcome: 'in-progress', jobId: 'lease' },
  ]);
  expect(deps.batch.submitted).toHaveLength(0);
  deps.clock.ms += SUBMIT_LEASE_MS + 1;
  expect((await handler(s3Event('jobs/lease/input/job.json')))[0]?.outcome).toBe('submitted');
  expect(deps.batch.submitted).toHaveLength(1);
});

test.each([
  ['no images', {}, /expected 1–50 images .* found 0/],
  [
    'a file that is not an image by content',
    { 'cat.png': encode('GIF89a not a png') },
    /cat\.png is not a PNG, JPEG or WebP/,
  ],
  ['an image over 20 MB', { 'big.png': new Uint8Array(20 * 1024 * 1024 + 1) }, /big\.png is 20971521 bytes/],
  [
    '51 images',
    Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`${i}.png`, PNG_BYTES])),
    /expected 1–50 images .* found 51/,
  ],
  ['a nested image key', { 'sub/a.png': PNG_BYTES }, /image key not allowed/],
])('%s ends FAILED with a reason and submits nothing', async (_label, images, reason) => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('bad', { token: '<cat>' }, images as Record<string, Uint8Array>);
  const [outcome] = await handler(s3Event('jobs/bad/input/job.json'));
  expect(outcome).toMatchObject({ outcome: 'failed', jobId: 'bad' });
  const record = await deps.jobs.get('bad');
  expect(record?.status).toBe('FAILED');
  expect(record?.error).toMatch(reason);
  expect(deps.batch.submitted).toHaveLength(0);
  expect(deps.monitor.started.size).toBe(0);
});

test('images over 200 MB in total are rejected', async () => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  const big = new Uint8Array(19 * 1024 * 1024);
  big.set(PNG_BYTES);
  await upload(
    'total',
    { token: '<cat>' },
    Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`${i}.png`, big])),
  );
  await handler(s3Event('jobs/total/input/job.json'));
  expect((await deps.jobs.get('total'))?.error).toMatch(
    /images total 219152384 bytes; the limit is 209715200/,
  );
});

test.each([
  ['malformed JSON', '{"token":', /not valid UTF-8 JSON/],
  ['a missing token', {}, /token/],
  ['a hostile token', { token: '../x' }, /token/],
  ['an unknown base model', { token: '<cat>', baseModel: 'nope' }, /base model "nope" not found/],
  ['an http webhook', { token: '<cat>', notify: { webhookUrl: 'http://example.com/hook' } }, /webhookUrl/],
])('a manifest with %s ends FAILED with a reason', async (_label, manifest, reason) => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('m', manifest);
  await handler(s3Event('jobs/m/input/job.json'));
  const record = await deps.jobs.get('m');
  expect(record?.status).toBe('FAILED');
  expect(record?.error).toMatch(reason);
  expect(record?.manifest).toBeUndefined();
});

test.each([
  'jobs/../input/job.json',
  'jobs/%2e%2e/input/job.json',
  'jobs/a%2Fb/input/job.json',
  `jobs/${'x'.repeat(65)}/input/job.json`,
  'jobs/-leading/input/job.json',
  'jobs/ok/input/images/job.json',
  'other/ok/input/job.json',
  'jobs/ok/input/job.json%00',
  'jobs/%E0%A4%A/input/job.json',
])('a hostile or foreign key %s is ignored without a record', async (key) => {
  const { deps, handler } = setup();
  const [outcome] = await handler(s3Event(key));
  expect(outcome?.outcome).toBe('ignored');
  expect(deps.jobs.records.size).toBe(0);
});

test('events for another bucket are ignored; a malformed event throws', async () => {
  const { deps, handler } = setup();
  expect((await handler(s3Event('jobs/a/input/job.json', 'other')))[0]?.outcome).toBe('ignored');
  expect(deps.jobs.records.size).toBe(0);
  await expect(handler({ Records: [] })).rejects.toThrow(/neither an S3 notification/);
});

test('an EventBridge "Object Created" event is accepted too', async () => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('eb');
  const [outcome] = await handler({
    'detail-type': 'Object Created',
    detail: { bucket: { name: BUCKET }, object: { key: 'jobs/eb/input/job.json' } },
  });
  expect(outcome?.outcome).toBe('submitted');
});

test('a failing SubmitJob leaves the job FAILED with the reason; a replay changes nothing', async () => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('sf');
  deps.batch.failSubmit = new Error('queue disabled');
  expect((await handler(s3Event('jobs/sf/input/job.json')))[0]).toMatchObject({ outcome: 'failed' });
  expect(await deps.jobs.get('sf')).toMatchObject({
    status: 'FAILED',
    error: 'Batch SubmitJob failed: queue disabled',
  });
  deps.batch.failSubmit = undefined;
  expect(await handler(s3Event('jobs/sf/input/job.json'))).toEqual([{ outcome: 'duplicate', jobId: 'sf' }]);
  expect(deps.batch.submitted).toHaveLength(0);
});

test('a failing StartExecution terminates the submitted Batch job and leaves the job FAILED', async () => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('st');
  deps.monitor.failStart = new Error('throttled');
  await handler(s3Event('jobs/st/input/job.json'));
  expect(await deps.jobs.get('st')).toMatchObject({
    status: 'FAILED',
    error: 'StartExecution failed: throttled',
  });
  expect(deps.batch.terminated).toEqual([
    { batchJobId: 'batch-1', reason: 'StartExecution failed: throttled' },
  ]);
});

test('a job cancelled while SubmitJob was in flight gets its fresh Batch job terminated', async () => {
  const { deps, handler, upload } = setup();
  await withModel(deps);
  await upload('race');
  const submit = deps.batch.submit.bind(deps.batch);
  deps.batch.submit = async (request) => {
    await deps.jobs.update('race', { from: ['QUEUED'], to: 'CANCELLED' });
    return submit(request);
  };
  expect(await handler(s3Event('jobs/race/input/job.json'))).toEqual([
    { outcome: 'duplicate', jobId: 'race' },
  ]);
  expect(deps.batch.terminated.map((t) => t.batchJobId)).toEqual(['batch-1']);
  expect(deps.monitor.started.size).toBe(0);
});
