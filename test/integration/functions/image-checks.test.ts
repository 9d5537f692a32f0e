// Bad images fail at submit, on real S3 (s3rver) and DynamoDB (dynalite): a decompression bomb, a cut-off JPEG
// and a text file renamed .png each end the job FAILED with the file named and no Batch job or monitor; hidden
// files (.DS_Store, __MACOSX/…) beside good images are skipped and not pinned.
import sharp from 'sharp';
import { makeSubmitJobHandler } from '../../../functions/submit-job/submit-job.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import { MAX_IMAGE_PIXELS } from '../../../shared/image-header.ts';
import { jobKeys } from '../../../shared/keys.ts';
import { pngBomb } from '../../support/png-bomb.ts';
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

function wire() {
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
  return { objects, jobs, batch, monitor, submit };
}

async function submitWith(jobId: string, images: Record<string, Uint8Array>) {
  const p = wire();
  const keys = jobKeys(jobId);
  for (const [name, bytes] of Object.entries(images))
    await p.objects.put(`${keys.imagesPrefix}${name}`, bytes);
  await p.objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify({ token: '<t>' })));
  const outcomes = await p.submit({
    Records: [
      {
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: aws.bucket }, object: { key: keys.manifest } },
      },
    ],
  });
  return { ...p, outcomes, record: await p.jobs.get(jobId) };
}

test.each([
  [
    'a decompression bomb',
    async () => pngBomb(100_000, 100_000),
    `image bomb.png declares 100000×100000 = 10000000000 pixels; the limit is ${MAX_IMAGE_PIXELS} ` +
      '(an image that large is either a decompression bomb or far more than training uses)',
  ],
  [
    'a cut-off JPEG',
    async () => {
      const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#c00' } })
        .jpeg()
        .toBuffer();
      return new Uint8Array(jpeg.subarray(0, jpeg.length - 40));
    },
    'image cut.jpg is truncated (the JPEG ends before its end-of-image marker)',
  ],
  [
    'a text file named .png',
    async () => new TextEncoder().encode('not an image at all'),
    'image notes.png is not a PNG, JPEG or WebP file (checked by content)',
  ],
])('%s → FAILED naming the file, before any Batch job', async (_label, make, reason) => {
  const name = reason.split(' ')[1]!;
  const jobId = `img-${name.replace('.', '-')}`;
  const { outcomes, record, batch, monitor } = await submitWith(jobId, {
    'a.png': PNG_BYTES,
    [name]: await make(),
  });
  expect(outcomes).toEqual([{ outcome: 'failed', jobId, reason }]);
  expect(record).toMatchObject({ status: 'FAILED', error: reason, stopReason: 'failed' });
  expect(batch.submitted).toEqual([]);
  expect(monitor.started.size).toBe(0);
});

test('hidden files beside the images are skipped, not checked and not pinned', async () => {
  const { outcomes, record, batch } = await submitWith('img-hidden', {
    'a.png': PNG_BYTES,
    '.DS_Store': new TextEncoder().encode('junk'),
    '__MACOSX/._a.png': new TextEncoder().encode('resource fork'),
    'Thumbs.db': new TextEncoder().encode('junk'),
  });
  expect(outcomes[0]).toMatchObject({ outcome: 'submitted', jobId: 'img-hidden' });
  expect(record?.inputs?.images.map((i) => i.key)).toEqual([`${jobKeys('img-hidden').imagesPrefix}a.png`]);
  expect(batch.submitted).toHaveLength(1);
});
