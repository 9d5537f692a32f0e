// The submit Lambda's own guard, on real S3 and DynamoDB (s3rver, dynalite): five invocations for one job.json at
// once (S3 redelivery, a second upload of the manifest) create one record and one Batch job; a job.json uploaded
// again after acceptance changes nothing.
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

test('concurrent submits of one job: one record, one Batch job, one monitor', async () => {
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
  const keys = jobKeys('twice');
  await objects.put('models/default/model_index.json', new Uint8Array([123, 125]));
  await objects.put(`${keys.imagesPrefix}a.png`, PNG_BYTES);
  await objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify({ token: '<t>' })));
  const event = {
    Records: [
      {
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: aws.bucket }, object: { key: keys.manifest } },
      },
    ],
  };
  const outcomes = (await Promise.all(Array.from({ length: 5 }, () => submit(event)))).flat();
  expect(outcomes.filter((o) => o.outcome === 'submitted')).toHaveLength(1);
  expect(outcomes.filter((o) => o.outcome !== 'submitted').map((o) => o.outcome)).toEqual(
    expect.arrayContaining([expect.stringMatching(/^(duplicate|in-progress)$/)]),
  );
  expect(batch.submitted).toHaveLength(1);
  expect(monitor.started.size).toBe(1);

  // The manifest uploaded again with other settings: the accepted job keeps its pinned manifest.
  await objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify({ token: '<other>' })));
  expect(await submit(event)).toEqual([{ outcome: 'duplicate', jobId: 'twice' }]);
  expect((await jobs.get('twice'))?.manifest?.token).toBe('<t>');
  expect(batch.submitted).toHaveLength(1);
});
