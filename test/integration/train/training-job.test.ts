// Inputs are pinned, on real S3 (s3rver) and DynamoDB (dynalite): submit records the manifest and the images'
// ETags; a re-uploaded job.json or an added image does not change what a resumed trainer trains, a replaced
// image fails it "inputs changed", and two racing submits of one jobId make one Batch job.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { makeSubmitJobHandler } from '../../../functions/submit-job/submit-job.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { S3ArtifactStore, S3ObjectStore } from '../../../shared/aws/s3-store.ts';
import { jobKeys } from '../../../shared/keys.ts';
import type { LossSample, SampleSink } from '../../../shared/ports.ts';
import { runTrainingJob } from '../../../trainer-image/src/train/training-job.ts';
import { fixtureDir } from '../../support/fixtures.ts';
import { FakeBatch, ManualClock, MemoryMonitor } from '../../unit/functions/in-memory-ports.ts';
import { standInModel } from '../../unit/train/support/stand-in-model.ts';
import { type EmbeddedAws, startEmbeddedAws } from '../shared/aws/embedded-aws.ts';

let aws: EmbeddedAws;
beforeAll(async () => {
  aws = await startEmbeddedAws();
  const objects = new S3ObjectStore(aws.s3, aws.bucket);
  const fixture = fixtureDir('tiny-sd');
  const files = readdirSync(fixture, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(fixture, join(e.parentPath, e.name)))
    .filter((f) => !f.startsWith('golden'));
  for (const file of files) await objects.put(`models/tiny/${file}`, readFileSync(join(fixture, file)));
}, 60_000);
afterAll(async () => {
  await aws.close();
});

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const s3Event = (key: string) => ({
  Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: aws.bucket }, object: { key } } }],
});

async function png(shade: number): Promise<Uint8Array> {
  const bytes = await sharp({
    create: { width: 40, height: 36, channels: 3, background: { r: shade, g: 90, b: 200 - shade } },
  })
    .png()
    .toBuffer();
  return new Uint8Array(bytes);
}

class ListSink implements SampleSink {
  readonly samples: LossSample[] = [];
  async write(sample: LossSample) {
    this.samples.push(sample);
  }
  async flush() {}
}

function wire() {
  const clock = new ManualClock();
  const objects = new S3ObjectStore(aws.s3, aws.bucket);
  const jobs = new DynamoDbJobStore(aws.documents, aws.table, () => clock.now());
  const batch = new FakeBatch();
  const submit = makeSubmitJobHandler({
    objects,
    jobs,
    batch,
    monitor: new MemoryMonitor(),
    clock,
    config: { bucket: aws.bucket, table: aws.table, jobQueue: 'q', jobDefinition: 'd' },
  });
  return { objects, jobs, batch, submit };
}

async function upload(p: ReturnType<typeof wire>, jobId: string): Promise<void> {
  const keys = jobKeys(jobId);
  await p.objects.put(`${keys.imagesPrefix}img0.png`, await png(10));
  await p.objects.put(`${keys.imagesPrefix}img1.png`, await png(120));
  await p.objects.put(
    keys.manifest,
    json({
      token: '<my-toy>',
      initializerToken: 'toy',
      baseModel: 'tiny',
      training: { maxSteps: 6 },
      stop: { criterion: 'none' },
    }),
  );
}

/** One trainer attempt (a Batch attempt after a reclaim, say), with its own scratch folders. */
async function attempt(p: ReturnType<typeof wire>, jobId: string, lines: string[]) {
  return runTrainingJob({
    jobId,
    objects: p.objects,
    jobs: p.jobs,
    store: new S3ArtifactStore(p.objects, jobKeys(jobId).root),
    sink: new ListSink(),
    stopSignal: { check: async () => ({ stop: false }) },
    loadModel: standInModel(),
    modelCacheDir: await mkdtemp(join(tmpdir(), 'plateau-cache-')),
    workDir: await mkdtemp(join(tmpdir(), 'plateau-work-')),
    log: (line) => lines.push(line),
  });
}

test('a re-uploaded job.json or an added image changes nothing; a replaced image fails the resume', async () => {
  const p = wire();
  const keys = jobKeys('pin-1');
  await upload(p, 'pin-1');
  expect((await p.submit(s3Event(keys.manifest)))[0]?.outcome).toBe('submitted');
  const record = await p.jobs.get('pin-1');
  expect(record?.inputs?.images.map((i) => i.key)).toEqual([
    `${keys.imagesPrefix}img0.png`,
    `${keys.imagesPrefix}img1.png`,
  ]);
  expect(record?.inputs?.images.every((i) => /^"[0-9a-f]{32}"$/.test(i.etag ?? ''))).toBe(true);

  const first = await attempt(p, 'pin-1', []);
  expect(first.steps).toBe(6);

  // The user changes the job under it: another manifest (other token, more steps) and a third image.
  await p.objects.put(
    keys.manifest,
    json({ token: '<other>', baseModel: 'tiny', training: { maxSteps: 9 } }),
  );
  await p.objects.put(`${keys.imagesPrefix}img2.png`, await png(240));
  expect(await p.submit(s3Event(keys.manifest))).toEqual([{ outcome: 'duplicate', jobId: 'pin-1' }]);
  expect(p.batch.submitted).toHaveLength(1);
  expect((await p.jobs.get('pin-1'))?.manifest?.token).toBe('<my-toy>');

  const lines: string[] = [];
  const resumed = await attempt(p, 'pin-1', lines);
  expect(resumed.resumedFrom).toBe(6);
  expect(resumed.steps).toBe(6);
  expect(resumed.outputKey).toContain('<my-toy>.safetensors');
  expect(lines.some((line) => line.includes('2 image(s)'))).toBe(true);
  expect(resumed.rows).toEqual(first.rows);

  // Replacing a pinned image: the next attempt refuses to train a mix.
  await p.objects.put(`${keys.imagesPrefix}img1.png`, await png(200));
  await expect(attempt(p, 'pin-1', [])).rejects.toThrow(/^inputs changed: image img1\.png was replaced/);
  await p.objects.put(`${keys.imagesPrefix}img1.png`, await png(120));
  // Same bytes, same ETag: the original input is back, so training may go on.
  expect((await attempt(p, 'pin-1', [])).steps).toBe(6);
}, 120_000);

test('a deleted pinned image fails the attempt "inputs changed" with its name', async () => {
  const p = wire();
  const keys = jobKeys('pin-2');
  await upload(p, 'pin-2');
  expect((await p.submit(s3Event(keys.manifest)))[0]?.outcome).toBe('submitted');
  const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
  await aws.s3.send(new DeleteObjectCommand({ Bucket: aws.bucket, Key: `${keys.imagesPrefix}img0.png` }));
  await expect(attempt(p, 'pin-2', [])).rejects.toThrow(/^inputs changed: image img0\.png was deleted/);
}, 60_000);

test('two racing submits of one jobId make one record, one Batch job and one monitor', async () => {
  const p = wire();
  const keys = jobKeys('pin-3');
  await upload(p, 'pin-3');
  const outcomes = (
    await Promise.all([p.submit(s3Event(keys.manifest)), p.submit(s3Event(keys.manifest))])
  ).flat();
  expect(outcomes.filter((o) => o.outcome === 'submitted')).toHaveLength(1);
  expect(p.batch.submitted).toHaveLength(1);
});
