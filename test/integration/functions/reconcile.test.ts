// Every job ends, on real S3 (s3rver) and DynamoDB (dynalite): a submit-job that dies after taking its lease
// (before SubmitJob, or between SubmitJob and StartExecution) is finished by the scheduled reconciler once the
// lease expires — one Batch job, one monitor — and a redelivered event inside the lease changes nothing.
import { reconcileJobs } from '../../../functions/submit-job/reconcile.ts';
import {
  makeSubmitJobHandler,
  SUBMIT_LEASE_MS,
  type SubmitJobDeps,
} from '../../../functions/submit-job/submit-job.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import { jobKeys } from '../../../shared/keys.ts';
import type { BatchJobs, MonitorStarter } from '../../../shared/pipeline-ports.ts';
import { FakeBatch, ManualClock, MemoryMonitor, PNG_BYTES } from '../../unit/functions/in-memory-ports.ts';
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

/** A call that never returns: the Lambda was killed (timeout, out of memory) in the middle of it. */
const hang = () => new Promise<never>(() => {});

function wire(clock: ManualClock, batch: BatchJobs, monitor: MonitorStarter) {
  const objects = new S3ObjectStore(aws.s3, aws.bucket);
  const jobs = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  const deps: SubmitJobDeps = {
    objects,
    jobs,
    batch,
    monitor,
    clock,
    config: { bucket: aws.bucket, table: aws.table, jobQueue: 'q', jobDefinition: 'd' },
  };
  return { objects, jobs, deps, submit: makeSubmitJobHandler(deps) };
}

async function upload(objects: S3ObjectStore, jobId: string): Promise<void> {
  const keys = jobKeys(jobId);
  await objects.put(`${keys.imagesPrefix}a.png`, PNG_BYTES);
  await objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify({ token: '<t>' })));
}

test('a submit that dies before SubmitJob: redelivery waits out the lease, the reconciler finishes it once', async () => {
  const clock = new ManualClock();
  const batch = new FakeBatch();
  const monitor = new MemoryMonitor();
  const crashed = wire(clock, { ...batch, submit: hang, describe: hang, terminate: hang }, monitor);
  await upload(crashed.objects, 'rec-1');
  void crashed.submit(s3Event(jobKeys('rec-1').manifest));
  for (let i = 0; i < 100 && (await crashed.jobs.get('rec-1'))?.submitLeaseUntilMs === undefined; i++)
    await new Promise((resolve) => setTimeout(resolve, 20));

  const healthy = wire(clock, batch, monitor);
  clock.ms += 60_000; // Lambda's first retry of the event: the dead invocation still holds the lease.
  expect(await healthy.submit(s3Event(jobKeys('rec-1').manifest))).toEqual([
    { outcome: 'in-progress', jobId: 'rec-1' },
  ]);
  expect(await reconcileJobs(healthy.jobs, healthy.deps)).toEqual([
    { outcome: 'in-progress', jobId: 'rec-1' },
  ]);

  clock.ms += SUBMIT_LEASE_MS;
  const [outcome] = await reconcileJobs(healthy.jobs, healthy.deps);
  expect(outcome).toMatchObject({ outcome: 'submitted', jobId: 'rec-1', batchJobId: 'batch-1' });
  expect(batch.submitted).toHaveLength(1);
  expect([...monitor.started.keys()]).toEqual(['rec-1']);
  const record = await healthy.jobs.get('rec-1');
  expect(record).toMatchObject({ status: 'QUEUED', batchJobId: 'batch-1' });
  expect(record?.executionArn).toContain('rec-1');

  // Settled: later runs and late redeliveries change nothing.
  expect(await reconcileJobs(healthy.jobs, healthy.deps)).toEqual([]);
  expect(await healthy.submit(s3Event(jobKeys('rec-1').manifest))).toEqual([
    { outcome: 'duplicate', jobId: 'rec-1' },
  ]);
  expect(batch.submitted).toHaveLength(1);
});

test('a submit that dies between SubmitJob and StartExecution: the reconciler starts the monitor only', async () => {
  const clock = new ManualClock();
  const batch = new FakeBatch();
  const monitor = new MemoryMonitor();
  const crashed = wire(clock, batch, { start: hang });
  await upload(crashed.objects, 'rec-2');
  void crashed.submit(s3Event(jobKeys('rec-2').manifest));
  for (let i = 0; i < 100 && (await crashed.jobs.get('rec-2'))?.batchJobId === undefined; i++)
    await new Promise((resolve) => setTimeout(resolve, 20));

  const healthy = wire(clock, batch, monitor);
  const [outcome] = await reconcileJobs(healthy.jobs, healthy.deps);
  expect(outcome).toMatchObject({ outcome: 'submitted', jobId: 'rec-2' });
  expect(batch.submitted.filter((r) => r.jobName === 'plateau-rec-2')).toHaveLength(1);
  expect(monitor.started.has('rec-2')).toBe(true);
  expect((await healthy.jobs.get('rec-2'))?.executionArn).toContain('rec-2');
});
