// The four functions wired to the real S3 and DynamoDB adapters (s3rver and dynalite in-process), with a fake
// Batch and in-memory Step Functions/EventBridge (no local implementation of their APIs here): one job from
// upload to SUCCEEDED with the stop decided by DVAR, a duplicate event, and a bad image ending FAILED.
import { evaluateStop } from '../../../functions/evaluate-stop/evaluate-stop.ts';
import { finalize } from '../../../functions/finalize/finalize.ts';
import { requestStop } from '../../../functions/request-stop/request-stop.ts';
import { makeSubmitJobHandler } from '../../../functions/submit-job/submit-job.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleReader, DynamoDbSampleSink } from '../../../shared/aws/dynamodb-samples.ts';
import { DynamoDbStopSignal } from '../../../shared/aws/dynamodb-stop-signal.ts';
import { S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import { findCriterionIndex } from '../../../shared/dvar.ts';
import type { MonitorState } from '../../../shared/monitor-contract.ts';
import { Report } from '../../../shared/report.ts';
import {
  FakeBatch,
  ManualClock,
  MemoryEvents,
  MemoryMonitor,
  PNG_BYTES,
} from '../../unit/functions/in-memory-ports.ts';
import { type EmbeddedAws, startEmbeddedAws } from '../shared/aws/embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
});
afterAll(async () => {
  await aws.close();
});

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const s3Event = (bucket: string, key: string) => ({
  Records: [
    {
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: bucket }, object: { key: encodeURIComponent(key).replace(/%2F/g, '/') } },
    },
  ],
});

function wire() {
  const clock = new ManualClock('2026-01-01T00:00:00.000Z');
  const objects = new S3ObjectStore(aws.s3, aws.bucket);
  const jobs = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  const samples = new DynamoDbSampleReader(aws.documents, aws.table);
  const batch = new FakeBatch();
  const monitor = new MemoryMonitor();
  const events = new MemoryEvents();
  const submit = makeSubmitJobHandler({
    objects,
    jobs,
    batch,
    monitor,
    clock,
    config: { bucket: aws.bucket, table: aws.table, jobQueue: 'q', jobDefinition: 'd' },
  });
  return { clock, objects, jobs, samples, batch, monitor, events, submit };
}

test('upload → submit (twice) → samples → DVAR stop → trainer exits → finalize SUCCEEDED with report and chart', async () => {
  const p = wire();
  await p.objects.put('models/default/model_index.json', json({}));
  await p.objects.put('jobs/cat-1/input/images/cat 1.png', PNG_BYTES);
  await p.objects.put(
    'jobs/cat-1/input/job.json',
    json({
      token: '<cat>',
      stop: { window: 20, threshold: 0.15, evalEvery: 1 },
      training: { maxSteps: 400 },
    }),
  );

  const event = s3Event(aws.bucket, 'jobs/cat-1/input/job.json');
  expect((await p.submit(event))[0]?.outcome).toBe('submitted');
  expect(await p.submit(event)).toEqual([{ outcome: 'duplicate', jobId: 'cat-1' }]);
  expect(p.batch.submitted).toHaveLength(1);
  const state: MonitorState = { jobId: 'cat-1', stopRequested: false };
  const deps = { jobs: p.jobs, samples: p.samples, batch: p.batch, clock: p.clock };

  // The trainer starts and streams samples of a loss that flattens.
  const t0 = p.clock.ms;
  p.batch.set('batch-1', { status: 'RUNNING', attempts: [{ startedAtMs: t0 }], startedAtMs: t0 });
  const losses = Array.from({ length: 200 }, (_, k) => 0.1 + Math.exp(-k / 8) + (k % 3) * 1e-4);
  const expected = findCriterionIndex(losses, { window: 20, threshold: 0.15 });
  const sink = new DynamoDbSampleSink(aws.documents, aws.table, 'cat-1', { ttlDays: 1 });
  const stop = new DynamoDbStopSignal(aws.documents, aws.table, 'cat-1');
  let decision = await evaluateStop(state, deps);
  expect(decision.action).toBe('continue');
  expect((await p.jobs.get('cat-1'))?.status).toBe('RUNNING');

  let step = 0;
  let current: MonitorState = state;
  for (; step < losses.length; step++) {
    await sink.write({ step, detLoss: losses[step], trainLoss: 0.3, lr: 0.01, wallTimeMs: t0 + step * 500 });
    if (step % 10 !== 9) continue;
    await sink.flush();
    if ((await stop.check()).stop) break;
    p.clock.ms = t0 + step * 500;
    decision = await evaluateStop(current, deps);
    current = { ...current, decision };
    if (decision.action === 'stop') current = await requestStop(current, { jobs: p.jobs, clock: p.clock });
  }
  expect(decision).toMatchObject({ action: 'stop', criterionStep: expected, reason: 'criterion' });
  expect(await p.jobs.get('cat-1')).toMatchObject({
    status: 'STOPPING',
    stopRequested: true,
    criterionStep: expected,
  });
  const lastStep = step;
  // Samples are visible at the flush after the criterion step (≤ 9 steps later) and the flag is read at the
  // next flush (10 more): the latency floor of a trainer that flushes every 10 steps.
  expect(lastStep - expected!).toBeLessThan(20);

  // The trainer writes its outputs and exits 0.
  await p.objects.put('jobs/cat-1/output/<cat>.safetensors', new Uint8Array(32));
  p.batch.set('batch-1', {
    status: 'SUCCEEDED',
    attempts: [{ startedAtMs: t0, stoppedAtMs: t0 + lastStep * 500 + 1000 }],
  });
  current = { ...current, decision: await evaluateStop(current, deps) };
  expect(current.decision).toMatchObject({ action: 'finished', criterionStep: expected });

  const result = await finalize(current, {
    objects: p.objects,
    jobs: p.jobs,
    samples: p.samples,
    batch: p.batch,
    events: p.events,
    clock: p.clock,
    gpuHourPriceUsd: 1,
  });
  expect(result).toMatchObject({ status: 'SUCCEEDED', published: true });
  const report = Report.parse(
    JSON.parse(new TextDecoder().decode(await p.objects.get('jobs/cat-1/output/report.json'))),
  );
  expect(report).toMatchObject({
    criterionStep: expected,
    lastStep,
    stopLatencySteps: lastStep - expected!,
    steps: lastStep + 1,
  });
  expect(new TextDecoder().decode(await p.objects.get('jobs/cat-1/output/loss.svg'))).toContain(
    `stop @ ${expected}`,
  );
  const record = await p.jobs.get('cat-1');
  expect(record).toMatchObject({ status: 'SUCCEEDED', stopReason: 'criterion', lastStep });
  expect(record?.artifacts).toContain('jobs/cat-1/output/<cat>.safetensors');
  expect(record?.notifiedAt).toBeDefined();
  expect(p.events.published).toHaveLength(1);
  // A replayed upload event after the job finished changes nothing.
  expect(await p.submit(event)).toEqual([{ outcome: 'duplicate', jobId: 'cat-1' }]);
});

test('a corrupt image ends FAILED with a reason and nothing is submitted', async () => {
  const p = wire();
  await p.objects.put('models/default/model_index.json', json({}));
  await p.objects.put('jobs/bad-1/input/images/cat.png', new TextEncoder().encode('not really a png'));
  await p.objects.put('jobs/bad-1/input/job.json', json({ token: '<cat>' }));
  const [outcome] = await p.submit(s3Event(aws.bucket, 'jobs/bad-1/input/job.json'));
  expect(outcome).toMatchObject({ outcome: 'failed', jobId: 'bad-1' });
  expect(await p.jobs.get('bad-1')).toMatchObject({
    status: 'FAILED',
    error: 'image cat.png is not a PNG, JPEG or WebP file (checked by content)',
  });
  expect(p.batch.submitted).toHaveLength(0);
  expect(await p.objects.list('jobs/bad-1/output/')).toEqual([]);
});
