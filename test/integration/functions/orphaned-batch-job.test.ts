// A submission that dies between Batch SubmitJob and recording the Batch job id, on real S3 and DynamoDB
// (s3rver, dynalite) with the AWS Batch adapter over an in-memory Batch API: the reconciler finds the orphaned
// Batch job by its name and adopts it (one trainer, not two); duplicates found beside it are terminated.
import { reconcileJobs } from '../../../functions/submit-job/reconcile.ts';
import {
  batchJobName,
  makeSubmitJobHandler,
  SUBMIT_LEASE_MS,
  type SubmitJobDeps,
} from '../../../functions/submit-job/submit-job.ts';
import { AwsBatchJobs } from '../../../shared/aws/batch-jobs.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import type { JobStore } from '../../../shared/job-record.ts';
import { jobKeys } from '../../../shared/keys.ts';
import { FakeBatchApi } from '../../support/fake-batch-api.ts';
import { ManualClock, MemoryMonitor, PNG_BYTES } from '../../unit/functions/in-memory-ports.ts';
import { type EmbeddedAws, startEmbeddedAws } from '../shared/aws/embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
  await new S3ObjectStore(aws.s3, aws.bucket).put(
    'models/default/model_index.json',
    new Uint8Array([123, 125]),
  );
});
afterAll(async () => {
  await aws.close();
});

const s3Event = (key: string) => ({
  Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: aws.bucket }, object: { key } } }],
});

function wire(clock: ManualClock, api: FakeBatchApi, jobs: JobStore) {
  const objects = new S3ObjectStore(aws.s3, aws.bucket);
  const deps: SubmitJobDeps = {
    objects,
    jobs,
    batch: new AwsBatchJobs(api.client),
    monitor: new MemoryMonitor(),
    clock,
    config: { bucket: aws.bucket, table: aws.table, jobQueue: 'gpu-queue', jobDefinition: 'd' },
  };
  return { objects, deps, submit: makeSubmitJobHandler(deps) };
}

/** The job store of a Lambda killed while recording the Batch job id: that one write never returns. */
function dyingOnBatchId(store: DynamoDbJobStore): JobStore {
  return {
    get: (jobId) => store.get(jobId),
    create: (record) => store.create(record),
    update: (jobId, change) =>
      change.patch?.batchJobId !== undefined ? new Promise<never>(() => {}) : store.update(jobId, change),
  };
}

async function crashAfterSubmitJob(
  jobId: string,
  clock: ManualClock,
  api: FakeBatchApi,
  store: DynamoDbJobStore,
) {
  const crashed = wire(clock, api, dyingOnBatchId(store));
  const keys = jobKeys(jobId);
  await crashed.objects.put(`${keys.imagesPrefix}a.png`, PNG_BYTES);
  await crashed.objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify({ token: '<t>' })));
  void crashed.submit(s3Event(keys.manifest));
  for (let i = 0; i < 200 && !api.jobs.some((j) => j.jobName === batchJobName(jobId)); i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

test('the reconciler adopts the Batch job the dead attempt submitted instead of submitting a second', async () => {
  const clock = new ManualClock();
  const api = new FakeBatchApi(() => clock.ms);
  const store = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  await crashAfterSubmitJob('orphan-1', clock, api, store);
  expect(api.jobs.map((j) => j.jobName)).toEqual(['plateau-orphan-1']);
  expect((await store.get('orphan-1'))?.batchJobId).toBeUndefined();

  clock.ms += SUBMIT_LEASE_MS + 1;
  const healthy = wire(clock, api, store);
  const [outcome] = await reconcileJobs(store, healthy.deps);
  expect(outcome).toMatchObject({ outcome: 'submitted', jobId: 'orphan-1', batchJobId: 'b-1' });
  expect(api.calls.filter((c) => c === 'SubmitJob')).toHaveLength(1);
  expect(api.calls).toContain('ListJobs');
  expect(await store.get('orphan-1')).toMatchObject({ status: 'QUEUED', batchJobId: 'b-1' });
  // Settled: a late redelivery of the event changes nothing.
  expect(await healthy.submit(s3Event(jobKeys('orphan-1').manifest))).toEqual([
    { outcome: 'duplicate', jobId: 'orphan-1' },
  ]);
  expect(api.jobs).toHaveLength(1);
});

test('two orphans of one job (two dead attempts): the oldest is adopted, the other terminated', async () => {
  const clock = new ManualClock();
  const api = new FakeBatchApi(() => clock.ms);
  const store = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  await crashAfterSubmitJob('orphan-2', clock, api, store);
  // A job of the same name in another queue, and one from long before this job, are not this job's.
  api.jobs.push({
    jobId: 'other-queue',
    jobName: 'plateau-orphan-2',
    jobQueue: 'q2',
    createdAt: clock.ms,
    status: 'RUNNING',
  });
  api.jobs.push({
    jobId: 'stale',
    jobName: 'plateau-orphan-2',
    jobQueue: 'gpu-queue',
    createdAt: 0,
    status: 'SUCCEEDED',
  });
  clock.ms += 1000;
  api.jobs.push({
    jobId: 'b-dup',
    jobName: 'plateau-orphan-2',
    jobQueue: 'gpu-queue',
    createdAt: clock.ms,
    status: 'RUNNABLE',
  });

  clock.ms += SUBMIT_LEASE_MS + 1;
  const [outcome] = await reconcileJobs(store, wire(clock, api, store).deps);
  expect(outcome).toMatchObject({ outcome: 'submitted', jobId: 'orphan-2', batchJobId: 'b-1' });
  expect(api.jobs.find((j) => j.jobId === 'b-dup')).toMatchObject({
    status: 'FAILED',
    statusReason: 'duplicate submission of job orphan-2',
  });
  expect(api.jobs.find((j) => j.jobId === 'other-queue')?.status).toBe('RUNNING');
  expect(api.calls.filter((c) => c === 'SubmitJob')).toHaveLength(1);
});

test('a retry after a death before SubmitJob finds no orphan and submits once', async () => {
  const clock = new ManualClock();
  const api = new FakeBatchApi(() => clock.ms);
  const store = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  const keys = jobKeys('orphan-3');
  const healthy = wire(clock, api, store);
  await healthy.objects.put(`${keys.imagesPrefix}a.png`, PNG_BYTES);
  await healthy.objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify({ token: '<t>' })));
  // The first attempt took the lease and died before SubmitJob: only the lease is on the record.
  const { submitJob } = await import('../../../functions/submit-job/submit-job.ts');
  const neverSubmits = {
    ...healthy.deps,
    batch: { ...healthy.deps.batch, submit: () => new Promise<never>(() => {}) },
  };
  void submitJob(keys.manifest, neverSubmits);
  for (let i = 0; i < 200 && (await store.get('orphan-3'))?.submitLeaseUntilMs === undefined; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));

  clock.ms += SUBMIT_LEASE_MS + 1;
  const [outcome] = await reconcileJobs(store, healthy.deps);
  expect(outcome).toMatchObject({ outcome: 'submitted', jobId: 'orphan-3', batchJobId: 'b-1' });
  expect(api.calls).toEqual(['ListJobs', 'SubmitJob']);
});
