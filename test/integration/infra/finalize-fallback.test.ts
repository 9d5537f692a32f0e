// A finalize that fails on every attempt still ends the job: the synthesized monitor (aws-local-stepfunctions)
// runs finalize's last-resort mode, which records FAILED with the cause on the real table (dynalite) and
// publishes the completion event; the execution succeeds instead of leaving the record non-final.
import { finalize, parseFinalizeInput } from '../../../functions/finalize/finalize.ts';
import { LocalMonitor } from '../../../infra/embedded/local-monitor.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import { JOB_FINISHED_DETAIL_TYPE } from '../../../shared/events.ts';
import { FakeBatch, ManualClock, MemoryEvents } from '../../unit/functions/in-memory-ports.ts';
import { type EmbeddedAws, startEmbeddedAws } from '../shared/aws/embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
});
afterAll(async () => {
  await aws.close();
});

test('finalize throwing on every attempt → FAILED "finalize failed: …" and one completion event', async () => {
  const clock = new ManualClock();
  const jobs = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  const now = clock.now().toISOString();
  await jobs.create({
    jobId: 'fin-1',
    status: 'RUNNING',
    createdAt: now,
    updatedAt: now,
    stopRequested: false,
    attempts: 1,
    batchJobId: 'batch-1',
  });
  const events = new MemoryEvents();
  let calls = 0;
  const deps = {
    objects: new S3ObjectStore(aws.s3, aws.bucket),
    jobs,
    // The samples query fails every time (a throttled table, say): the normal finalize can never complete.
    samples: {
      read: async () => {
        calls++;
        throw new Error('ProvisionedThroughputExceededException: rate exceeded');
      },
    },
    batch: new FakeBatch(),
    events,
    clock,
    gpuHourPriceUsd: 1,
  };
  const monitor = new LocalMonitor({
    handlers: {
      evaluateStop: async () => ({ action: 'finished', waitSeconds: 1 }),
      requestStop: async (state) => state,
      finalize: async (event) => finalize(parseFinalizeInput(event), deps),
    },
    waitOverridesMs: { initial: 0, loop: 0 },
    retryIntervalMs: 1,
  });
  await monitor.start('fin-1', { jobId: 'fin-1', stopRequested: false });
  await monitor.idle();

  expect(calls).toBe(4); // the first attempt and its 3 retries
  expect(monitor.executions[0]?.status).toBe('SUCCEEDED');
  const record = await jobs.get('fin-1');
  expect(record?.status).toBe('FAILED');
  expect(record?.error).toMatch(/^finalize failed: .*ProvisionedThroughputExceededException/);
  expect(record?.notifiedAt).toBeDefined();
  expect(events.published).toHaveLength(1);
  expect(events.published[0]).toMatchObject({
    detailType: JOB_FINISHED_DETAIL_TYPE,
    detail: { jobId: 'fin-1', status: 'FAILED' },
  });
});
