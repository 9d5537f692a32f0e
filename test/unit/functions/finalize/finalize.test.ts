// finalize with in-memory ports: report.json and loss.svg on success, the final status per stop reason,
// FAILED without artifacts, the completion event once, and the signed webhook.
import { createHmac } from 'node:crypto';
import { type FinalizeDeps, finalize, gpuSecondsOf } from '../../../../functions/finalize/finalize.ts';
import { StaticSecretSource } from '../../../../shared/aws/secret-source.ts';
import {
  JOB_FINISHED_DETAIL_TYPE,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from '../../../../shared/events.ts';
import type { JobRecord } from '../../../../shared/job-record.ts';
import { JobManifest } from '../../../../shared/manifest.ts';
import type { MonitorState } from '../../../../shared/monitor-contract.ts';
import type { LossSample } from '../../../../shared/ports.ts';
import { Report } from '../../../../shared/report.ts';
import { writeSafetensors } from '../../../../shared/safetensors.ts';
import {
  FakeBatch,
  ManualClock,
  MemoryEvents,
  MemoryJobStore,
  MemoryObjectStore,
  MemorySamples,
  ScriptedPoster,
} from '../in-memory-ports.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const manifest = JobManifest.parse({
  token: '<cat>',
  stop: { window: 10, threshold: 0.15 },
  training: { maxSteps: 1000 },
  notify: { webhookUrl: 'https://hooks.example.com/plateau' },
});
const stopping: JobRecord = {
  jobId: 'j',
  status: 'STOPPING',
  createdAt: new Date(T0).toISOString(),
  updatedAt: new Date(T0).toISOString(),
  manifest,
  batchJobId: 'b',
  executionArn: 'arn',
  stopRequested: true,
  stopReason: 'criterion',
  criterionStep: 98,
  attempts: 1,
};
const samples: LossSample[] = Array.from({ length: 100 }, (_, step) => ({
  step,
  detLoss: 0.1 + Math.exp(-step / 10),
  trainLoss: 0.2 + 0.05 * Math.sin(step),
  lr: 0.01,
  wallTimeMs: T0 + 60_000 + step * 500,
}));
const finished: MonitorState = {
  jobId: 'j',
  stopRequested: true,
  decision: { action: 'finished', waitSeconds: 1, criterionStep: 98 },
};

async function setup(rec: JobRecord = stopping, poster = new ScriptedPoster([200])) {
  const clock = new ManualClock('2026-01-01T00:02:00.000Z');
  const jobs = new MemoryJobStore(clock);
  await jobs.create(rec);
  const objects = new MemoryObjectStore();
  await objects.put('jobs/j/output/<cat>.safetensors', new Uint8Array(64));
  await objects.put('jobs/j/output/samples/0.png', new Uint8Array(4));
  const store = new MemorySamples();
  store.byJob.set('j', samples);
  const batch = new FakeBatch();
  // Two attempts (a Spot reclaim): 30 s + 50 s of GPU time.
  batch.set('b', {
    status: 'SUCCEEDED',
    attempts: [
      { startedAtMs: T0 + 50_000, stoppedAtMs: T0 + 80_000 },
      { startedAtMs: T0 + 90_000, stoppedAtMs: T0 + 140_000, exitCode: 0 },
    ],
  });
  const events = new MemoryEvents();
  const deps: FinalizeDeps = {
    objects,
    jobs,
    samples: store,
    batch,
    events,
    clock,
    gpuHourPriceUsd: 3.6,
    webhook: { http: poster, secret: new StaticSecretSource('s3cret') },
  };
  return { deps, objects, jobs, events, batch, poster, clock };
}

test('a criterion stop: report.json completed, loss.svg written, SUCCEEDED, event and signed webhook sent', async () => {
  const { deps, objects, jobs, events, poster } = await setup();
  await objects.put(
    'jobs/j/output/report.json',
    new TextEncoder().encode(JSON.stringify({ trainer: { evalOverhead: 0.21 } })),
  );
  const result = await finalize(finished, deps);
  expect(result).toMatchObject({
    jobId: 'j',
    status: 'SUCCEEDED',
    published: true,
    webhook: { delivered: true, attempts: 1 },
  });

  const report = Report.parse(JSON.parse(objects.text('jobs/j/output/report.json')!));
  expect(report).toMatchObject({
    status: 'SUCCEEDED',
    stopReason: 'criterion',
    steps: 100,
    lastStep: 99,
    criterionStep: 98,
    stopLatencySteps: 1,
    maxSteps: 1000,
    trainer: { evalOverhead: 0.21 },
  });
  expect(report.stopLatencyFraction).toBeCloseTo(1 / 98);
  expect(report.timings).toMatchObject({
    gpuSeconds: 80,
    wallSeconds: 90,
    pipelineSeconds: 120,
    attempts: 2,
  });
  // 100 of 1000 steps in 80 GPU-seconds; the samples' pace is 0.5 s/step, so the 900 untrained steps would have
  // taken 450 s more: 530 s for the full budget. At 3.6 USD/h: 0.08 USD paid instead of 0.53 USD.
  expect(report.savings).toMatchObject({
    stepsTrained: 100,
    budgetSteps: 1000,
    stepsSaved: 900,
    gpuSeconds: 80,
  });
  expect(report.savings?.secondsPerStep).toBeCloseTo(0.5);
  expect(report.savings?.fullBudgetGpuSeconds).toBeCloseTo(530);
  expect(report.savings?.savedFraction).toBeCloseTo(1 - 80 / 530);
  expect(report.cost.estimatedUsd).toBeCloseTo(0.08);
  expect(report.cost.fullBudgetUsd).toBeCloseTo(0.53);
  expect(report.cost.savedFraction).toBeCloseTo(1 - 80 / 530);
  expect(report.cost.note).toMatch(/^estimate/);
  expect(report.dvar.finalRatio).toBeGreaterThan(0);
  expect(report.artifacts.samples).toEqual(['jobs/j/output/samples/0.png']);

  const svg = objects.text('jobs/j/output/loss.svg')!;
  expect(svg).toMatch(/^<svg /);
  expect(svg).toContain('deterministic loss');
  expect(svg).toContain('DVAR ratio (W=');
  expect(svg).toContain('threshold: 0.15');
  expect(svg).toContain('stop @ 98');
  expect(svg).toContain('&lt;cat&gt;');

  expect(await jobs.get('j')).toMatchObject({
    status: 'SUCCEEDED',
    lastStep: 99,
    gpuSeconds: 80,
    artifacts: expect.arrayContaining([
      'jobs/j/output/<cat>.safetensors',
      'jobs/j/output/report.json',
      'jobs/j/output/loss.svg',
    ]),
    notifiedAt: '2026-01-01T00:02:00.000Z',
  });
  expect(events.published).toHaveLength(1);
  expect(events.published[0]).toMatchObject({
    detailType: JOB_FINISHED_DETAIL_TYPE,
    detail: {
      jobId: 'j',
      status: 'SUCCEEDED',
      steps: 100,
      criterionStep: 98,
      reportKey: 'jobs/j/output/report.json',
    },
  });

  const call = poster.calls[0]!;
  expect(call.url).toBe('https://hooks.example.com/plateau');
  const timestamp = call.headers[WEBHOOK_TIMESTAMP_HEADER]!;
  const expected = createHmac('sha256', 's3cret').update(`${timestamp}.${call.body}`).digest('hex');
  expect(call.headers[WEBHOOK_SIGNATURE_HEADER]).toBe(`sha256=${expected}`);
  const sent = JSON.parse(call.body) as { id: string; detail: { finishedAt: string } };
  expect(sent).toMatchObject({ type: JOB_FINISHED_DETAIL_TYPE, detail: { jobId: 'j' } });
  // The delivery id (signed, in the body, and as a header) is what a receiver dedupes a resend by.
  expect(sent.id).toBe(`j@${sent.detail.finishedAt}`);
  expect(call.headers[WEBHOOK_DELIVERY_HEADER]).toBe(sent.id);
});

test('finalize twice publishes once and changes nothing', async () => {
  const { deps, objects, jobs, events, poster } = await setup();
  await finalize(finished, deps);
  const record = await jobs.get('j');
  const report = objects.text('jobs/j/output/report.json');
  const again = await finalize(finished, deps);
  expect(again).toMatchObject({ status: 'SUCCEEDED', published: false });
  expect(events.published).toHaveLength(1);
  expect(poster.calls).toHaveLength(1);
  expect(await jobs.get('j')).toEqual(record);
  expect(objects.text('jobs/j/output/report.json')).toBe(report);
});

test('a finalize that crashed before publishing publishes on the retry', async () => {
  const { deps, jobs, events } = await setup();
  const publish = deps.events.publish.bind(deps.events);
  deps.events.publish = async () => {
    throw new Error('EventBridge down');
  };
  await expect(finalize(finished, deps)).rejects.toThrow('EventBridge down');
  expect((await jobs.get('j'))?.status).toBe('SUCCEEDED');
  deps.events.publish = publish;
  expect((await finalize(finished, deps)).published).toBe(true);
  expect(events.published).toHaveLength(1);
});

test('the loss chart is deterministic', async () => {
  const a = await setup();
  const b = await setup();
  await finalize(finished, a.deps);
  await finalize(finished, b.deps);
  expect(a.objects.text('jobs/j/output/loss.svg')).toBe(b.objects.text('jobs/j/output/loss.svg'));
});

test('a cancel ends CANCELLED with the last step artifacts; a run to maxSteps ends SUCCEEDED with max-steps', async () => {
  const cancelled = await setup({ ...stopping, stopReason: 'cancelled', criterionStep: undefined });
  await finalize(
    { jobId: 'j', stopRequested: true, decision: { action: 'finished', waitSeconds: 1 } },
    cancelled.deps,
  );
  expect(await cancelled.jobs.get('j')).toMatchObject({ status: 'CANCELLED' });
  expect(JSON.parse(cancelled.objects.text('jobs/j/output/report.json')!)).toMatchObject({
    status: 'CANCELLED',
    stopReason: 'cancelled',
    criterionStep: null,
    stopLatencySteps: null,
  });
  const capped = await setup({
    ...stopping,
    status: 'RUNNING',
    stopRequested: false,
    stopReason: undefined,
    criterionStep: undefined,
  });
  await finalize(
    { jobId: 'j', stopRequested: false, decision: { action: 'finished', waitSeconds: 1 } },
    capped.deps,
  );
  expect(await capped.jobs.get('j')).toMatchObject({ status: 'SUCCEEDED', stopReason: 'max-steps' });
});

test('a failure ends FAILED with the reason, writes no report or chart, and terminates a still-active Batch job', async () => {
  const { deps, objects, jobs, events, batch } = await setup();
  batch.set('b', { status: 'RUNNING', attempts: [{ startedAtMs: T0 }] });
  const result = await finalize(
    {
      jobId: 'j',
      stopRequested: true,
      decision: { action: 'failed', waitSeconds: 1, reason: 'trainer stuck' },
    },
    deps,
  );
  expect(result).toMatchObject({ status: 'FAILED', reason: 'trainer stuck', published: true });
  expect(await jobs.get('j')).toMatchObject({
    status: 'FAILED',
    error: 'trainer stuck',
    stopReason: 'failed',
  });
  expect(objects.text('jobs/j/output/report.json')).toBeUndefined();
  expect(objects.text('jobs/j/output/loss.svg')).toBeUndefined();
  expect(batch.terminated).toEqual([{ batchJobId: 'b', reason: 'plateau: trainer stuck' }]);
  expect(events.published[0]?.detail).toMatchObject({
    status: 'FAILED',
    error: 'trainer stuck',
    artifacts: [],
  });
  expect(events.published[0]?.detail).not.toHaveProperty('reportKey');
});

test('a trainer that exited without the embedding is FAILED, never presented as a result', async () => {
  const { deps, objects, jobs } = await setup();
  objects.objects.delete('jobs/j/output/<cat>.safetensors');
  await finalize(finished, deps);
  expect(await jobs.get('j')).toMatchObject({
    status: 'FAILED',
    error: 'trainer exited without writing jobs/j/output/<cat>.safetensors',
  });
  expect(objects.text('jobs/j/output/report.json')).toBeUndefined();
});

test('a job that submit-job already failed is only announced', async () => {
  const failed: JobRecord = { ...stopping, status: 'FAILED', error: 'invalid job.json', manifest: undefined };
  const { deps, events } = await setup(failed);
  expect(
    await finalize(
      { jobId: 'j', stopRequested: false, decision: { action: 'failed', waitSeconds: 1 } },
      deps,
    ),
  ).toMatchObject({
    status: 'FAILED',
    published: true,
  });
  expect(events.published).toHaveLength(1);
});

test('the webhook is retried on 5xx and network errors with backoff, and not on a 4xx', async () => {
  const flaky = await setup(stopping, new ScriptedPoster([503, new Error('ECONNRESET'), 200]));
  const result = await finalize(finished, flaky.deps);
  expect(result.webhook).toEqual({ delivered: true, attempts: 3, status: 200 });
  expect(flaky.clock.sleeps).toEqual([1000, 2000]);
  const refused = await setup(stopping, new ScriptedPoster([403, 200]));
  expect((await finalize(finished, refused.deps)).webhook).toEqual({
    delivered: false,
    attempts: 1,
    error: 'HTTP 403',
  });
  const down = await setup(stopping, new ScriptedPoster([500, 500, 500, 500, 500]));
  expect((await finalize(finished, down.deps)).webhook).toMatchObject({ delivered: false, attempts: 4 });
  // A failed webhook does not fail the job.
  expect((await down.jobs.get('j'))?.status).toBe('SUCCEEDED');
});

test('without a webhook secret nothing is sent unsigned', async () => {
  const { deps, poster } = await setup();
  const result = await finalize(finished, { ...deps, webhook: undefined });
  expect(result.webhook).toMatchObject({
    delivered: false,
    error: expect.stringMatching(/never sent unsigned/),
  });
  expect(poster.calls).toHaveLength(0);
});

test('gpuSecondsOf sums attempts and falls back to the job times', () => {
  expect(
    gpuSecondsOf({
      batchJobId: 'b',
      status: 'SUCCEEDED',
      attempts: [{ startedAtMs: 0, stoppedAtMs: 1500 }, { startedAtMs: 2000 }],
    }),
  ).toBe(1.5);
  expect(
    gpuSecondsOf({ batchJobId: 'b', status: 'SUCCEEDED', attempts: [], startedAtMs: 0, stoppedAtMs: 3000 }),
  ).toBe(3);
});

test('a LoRA job needs every file of its method: without the LoRA file it FAILs naming it; with it the report lists both', async () => {
  const lora: JobRecord = {
    ...stopping,
    manifest: JobManifest.parse({ method: 'dreambooth-lora', token: '<cat>', stop: { window: 10 } }),
  };
  const missing = await setup(lora);
  const failed = await finalize(finished, missing.deps);
  expect(failed.status).toBe('FAILED');
  expect((await missing.jobs.get('j'))?.error).toBe(
    'trainer exited without writing jobs/j/output/<cat>-lora.safetensors',
  );

  const complete = await setup(lora);
  await complete.objects.put('jobs/j/output/<cat>-lora.safetensors', new Uint8Array(64));
  expect((await finalize(finished, complete.deps)).status).toBe('SUCCEEDED');
  const report = Report.parse(JSON.parse(complete.objects.text('jobs/j/output/report.json')!));
  expect(report.method).toBe('dreambooth-lora');
  expect(report.artifacts.outputs).toEqual([
    'jobs/j/output/<cat>.safetensors',
    'jobs/j/output/<cat>-lora.safetensors',
  ]);
  expect((await complete.jobs.get('j'))?.artifacts).toContain('jobs/j/output/<cat>-lora.safetensors');
});

test('step counts come from the saved weights, not from samples a lost attempt wrote past them', async () => {
  // The token file says 60 steps; samples run to step 99 (an attempt lost after its checkpoint wrote them).
  const { deps, objects, jobs } = await setup({ ...stopping, criterionStep: 55 });
  const token = writeSafetensors(
    { '<cat>': { dtype: 'F32', shape: [1, 4], data: new Float32Array(4) } },
    { 'plateau.steps': '60' },
  );
  await objects.put('jobs/j/output/<cat>.safetensors', token);
  await finalize({ ...finished, decision: { action: 'finished', waitSeconds: 1, criterionStep: 55 } }, deps);
  const report = Report.parse(JSON.parse(objects.text('jobs/j/output/report.json')!));
  expect(report).toMatchObject({ steps: 60, lastStep: 59, criterionStep: 55, stopLatencySteps: 4 });
  expect(report.savings?.stepsTrained).toBe(60);
  expect(await jobs.get('j')).toMatchObject({ status: 'SUCCEEDED', lastStep: 59 });
  // The chart ends at the last step trained.
  expect(objects.text('jobs/j/output/loss.svg')).toContain('after 60 steps');
});

test('a failed job without outputs counts the steps of its latest checkpoint', async () => {
  const { deps, objects, jobs } = await setup();
  objects.objects.delete('jobs/j/output/<cat>.safetensors');
  await objects.put('jobs/j/checkpoints/step-00000020.safetensors', new Uint8Array(8));
  await objects.put('jobs/j/checkpoints/step-00000040.safetensors', new Uint8Array(8));
  await finalize(finished, deps);
  expect(await jobs.get('j')).toMatchObject({ status: 'FAILED', lastStep: 39 });
});

// In AWS, finalize's role may list only some prefixes of the bucket, and reading a key that does not exist is then
// AccessDenied rather than "no such key": finalize reads an output only once it has listed it.
test('reads no output it has not listed (a missing key is AccessDenied in AWS)', async () => {
  const { deps, objects, jobs } = await setup();
  const strict = Object.assign(Object.create(objects) as MemoryObjectStore, {
    async get(key: string) {
      const body = objects.objects.get(key)?.body;
      if (body === undefined) throw new Error(`AccessDenied: ${key}`);
      return body;
    },
    async head(key: string) {
      if (!objects.objects.has(key)) throw new Error(`AccessDenied: ${key}`);
      return objects.head(key);
    },
  });
  // No trainer report and a token file without its steps: both optional reads must not reach a missing key.
  await expect(finalize(finished, { ...deps, objects: strict })).resolves.toMatchObject({
    status: 'SUCCEEDED',
  });
  expect((await jobs.get('j'))?.status).toBe('SUCCEEDED');

  const failed = await setup();
  failed.objects.objects.delete('jobs/j/output/<cat>.safetensors');
  const lenient = failed.objects;
  const strictFailed = Object.assign(Object.create(lenient) as MemoryObjectStore, {
    async head(key: string) {
      if (!lenient.objects.has(key)) throw new Error(`AccessDenied: ${key}`);
      return lenient.head(key);
    },
  });
  await expect(finalize(finished, { ...failed.deps, objects: strictFailed })).resolves.toMatchObject({
    status: 'FAILED',
  });
  expect((await failed.jobs.get('j'))?.error).toMatch(/without writing jobs\/j\/output\/<cat>\.safetensors/);
});
