// A Batch job that never leaves RUNNABLE (no GPU capacity) ends the job: the synthesized monitor with the real
// evaluate-stop and finalize on dynalite and s3rver fails it "no capacity" past the configured limit, and
// finalize terminates the queued Batch job; a job that starts in time is untouched.
import { evaluateStop, parseEvaluateInput } from '../../../functions/evaluate-stop/evaluate-stop.ts';
import { finalize, parseFinalizeInput } from '../../../functions/finalize/finalize.ts';
import { LocalMonitor } from '../../../infra/embedded/local-monitor.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleReader } from '../../../shared/aws/dynamodb-samples.ts';
import { S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import { FakeBatch, ManualClock, MemoryEvents } from '../../unit/functions/in-memory-ports.ts';
import { type EmbeddedAws, startEmbeddedAws } from '../shared/aws/embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
});
afterAll(async () => {
  await aws.close();
});

test('RUNNABLE past the limit → FAILED "no capacity", Batch job terminated, completion event sent', async () => {
  const clock = new ManualClock();
  const jobs = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  const samples = new DynamoDbSampleReader(aws.documents, aws.table);
  const batch = new FakeBatch();
  const events = new MemoryEvents();
  const now = clock.now().toISOString();
  await jobs.create({
    jobId: 'cap-1',
    status: 'QUEUED',
    createdAt: now,
    updatedAt: now,
    stopRequested: false,
    attempts: 0,
    batchJobId: 'batch-1',
    manifest: undefined,
  });
  batch.set('batch-1', { status: 'RUNNABLE', attempts: [] });
  let evaluations = 0;
  const monitor = new LocalMonitor({
    handlers: {
      evaluateStop: async (event) => {
        evaluations++;
        clock.ms += 10_000; // each loop is the queued wait, 10 s
        return evaluateStop(parseEvaluateInput(event), {
          jobs,
          samples,
          batch,
          clock,
          runnableLimitSeconds: 45,
        });
      },
      requestStop: async (state) => state,
      finalize: async (event) =>
        finalize(parseFinalizeInput(event), {
          objects: new S3ObjectStore(aws.s3, aws.bucket),
          jobs,
          samples,
          batch,
          events,
          clock,
          gpuHourPriceUsd: 1,
        }),
    },
    waitOverridesMs: { initial: 0, loop: 0 },
    retryIntervalMs: 1,
  });
  await monitor.start('cap-1', { jobId: 'cap-1', stopRequested: false });
  await monitor.idle();

  expect(evaluations).toBe(5); // 10, 20, 30, 40 s continue; 50 s > 45 s fails
  const record = await jobs.get('cap-1');
  expect(record?.status).toBe('FAILED');
  expect(record?.error).toBe('no capacity: Batch job batch-1 RUNNABLE for 50 s (limit 45 s)');
  expect(batch.terminated).toEqual([
    { batchJobId: 'batch-1', reason: expect.stringContaining('no capacity') },
  ]);
  expect(events.published).toEqual([
    expect.objectContaining({ detail: expect.objectContaining({ jobId: 'cap-1', status: 'FAILED' }) }),
  ]);
});
