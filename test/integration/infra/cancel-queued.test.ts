// Cancelling a job whose trainer has not started (Batch RUNNABLE): the synthesized monitor with the real
// evaluate-stop and finalize on dynalite and s3rver terminates the Batch job and ends the job CANCELLED within
// one loop, with no trainer ever started and the completion event sent.
import { evaluateStop, parseEvaluateInput } from '../../../functions/evaluate-stop/evaluate-stop.ts';
import { finalize, parseFinalizeInput } from '../../../functions/finalize/finalize.ts';
import { parseRequestStopInput, requestStop } from '../../../functions/request-stop/request-stop.ts';
import { LocalMonitor } from '../../../infra/embedded/local-monitor.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleReader } from '../../../shared/aws/dynamodb-samples.ts';
import { S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import { requestCancel } from '../../../shared/job-record.ts';
import { JobManifest } from '../../../shared/manifest.ts';
import { FakeBatch, ManualClock, MemoryEvents } from '../../unit/functions/in-memory-ports.ts';
import { type EmbeddedAws, startEmbeddedAws } from '../shared/aws/embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
});
afterAll(async () => {
  await aws.close();
});

test('cancel while RUNNABLE → CANCELLED in one loop, Batch job terminated, no trainer started', async () => {
  const clock = new ManualClock();
  const jobs = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  const samples = new DynamoDbSampleReader(aws.documents, aws.table);
  const batch = new FakeBatch();
  const events = new MemoryEvents();
  const now = clock.now().toISOString();
  await jobs.create({
    jobId: 'cq-1',
    status: 'QUEUED',
    createdAt: now,
    updatedAt: now,
    manifest: JobManifest.parse({ token: '<t>' }),
    stopRequested: false,
    attempts: 0,
    batchJobId: 'batch-1',
  });
  batch.set('batch-1', { status: 'RUNNABLE', attempts: [] });
  expect(await requestCancel(jobs, 'cq-1', clock.now())).toMatchObject({ status: 'STOPPING' });
  let evaluations = 0;
  const monitor = new LocalMonitor({
    handlers: {
      evaluateStop: async (event) => {
        evaluations++;
        return evaluateStop(parseEvaluateInput(event), { jobs, samples, batch, clock });
      },
      requestStop: async (event) => requestStop(parseRequestStopInput(event), { jobs, clock }),
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
  await monitor.start('cq-1', { jobId: 'cq-1', stopRequested: false });
  await monitor.idle();

  expect(evaluations).toBe(1);
  const record = await jobs.get('cq-1');
  expect(record).toMatchObject({ status: 'CANCELLED', stopReason: 'cancelled' });
  // TerminateJob is idempotent; the fake Batch keeps the job RUNNABLE, so finalize asks once more.
  expect(batch.terminated.length).toBeGreaterThan(0);
  expect(batch.terminated.every((t) => t.batchJobId === 'batch-1' && t.reason.includes('cancelled'))).toBe(
    true,
  );
  expect(events.published).toEqual([
    expect.objectContaining({ detail: expect.objectContaining({ jobId: 'cq-1', status: 'CANCELLED' }) }),
  ]);
});
