// A manifest with a misspelt key fails at submit on the real S3 and DynamoDB (s3rver, dynalite): the job is
// FAILED with the key named in its reason, and no Batch job or monitor is started.
import { makeSubmitJobHandler } from '../../../functions/submit-job/submit-job.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import { jobKeys } from '../../../shared/keys.ts';
import { FakeBatch, ManualClock, MemoryMonitor, PNG_BYTES } from '../../unit/functions/in-memory-ports.ts';
import { type EmbeddedAws, startEmbeddedAws } from '../shared/aws/embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
});
afterAll(async () => {
  await aws.close();
});

test('training.max_steps → FAILED "training: Unrecognized key: \\"max_steps\\"", nothing started', async () => {
  const clock = new ManualClock();
  const objects = new S3ObjectStore(aws.s3, aws.bucket);
  const jobs = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  const batch = new FakeBatch();
  const monitor = new MemoryMonitor();
  const submit = makeSubmitJobHandler({
    objects,
    jobs,
    batch,
    monitor,
    clock,
    config: { bucket: aws.bucket, table: aws.table, jobQueue: 'q', jobDefinition: 'd' },
  });
  const keys = jobKeys('typo');
  await objects.put('models/default/model_index.json', new Uint8Array([123, 125]));
  await objects.put(`${keys.imagesPrefix}a.png`, PNG_BYTES);
  await objects.put(
    keys.manifest,
    new TextEncoder().encode(JSON.stringify({ token: '<t>', training: { max_steps: 500 } })),
  );
  const [outcome] = await submit({
    Records: [
      {
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: aws.bucket }, object: { key: keys.manifest } },
      },
    ],
  });
  expect(outcome).toMatchObject({ outcome: 'failed', jobId: 'typo' });
  const record = await jobs.get('typo');
  expect(record?.status).toBe('FAILED');
  expect(record?.error).toBe('invalid job.json: training: Unrecognized key: "max_steps"');
  expect(batch.submitted).toEqual([]);
  expect(monitor.started.size).toBe(0);
});

test('a window the run cannot reach → FAILED with the reason, nothing started', async () => {
  const clock = new ManualClock();
  const objects = new S3ObjectStore(aws.s3, aws.bucket);
  const jobs = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  const batch = new FakeBatch();
  const monitor = new MemoryMonitor();
  const submit = makeSubmitJobHandler({
    objects,
    jobs,
    batch,
    monitor,
    clock,
    config: { bucket: aws.bucket, table: aws.table, jobQueue: 'q', jobDefinition: 'd' },
  });
  const keys = jobKeys('far');
  await objects.put('models/default/model_index.json', new Uint8Array([123, 125]));
  await objects.put(`${keys.imagesPrefix}a.png`, PNG_BYTES);
  const manifest = { token: '<t>', training: { maxSteps: 60 }, stop: { window: 60, evalEvery: 2 } };
  await objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify(manifest)));
  const [outcome] = await submit({
    Records: [
      {
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: aws.bucket }, object: { key: keys.manifest } },
      },
    ],
  });
  expect(outcome).toMatchObject({ outcome: 'failed', jobId: 'far' });
  const record = await jobs.get('far');
  expect(record?.status).toBe('FAILED');
  expect(record?.error).toBe(
    'invalid job.json: stop.window: window 60 with evalEvery 2 lets DVAR hold at step 60 at the earliest, ' +
      'not before training.maxSteps 60: lower stop.window, raise training.maxSteps, or set stop.criterion to "none"',
  );
  expect(batch.submitted).toEqual([]);
  expect(monitor.started.size).toBe(0);
});
