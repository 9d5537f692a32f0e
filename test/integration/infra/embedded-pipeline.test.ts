// The embedded runtime end to end with real s3rver, dynalite and aws-local-stepfunctions running the monitor
// ASL rendered from the CDK construct, the Lambda logic bound in-process, and the local job runner spawning a
// stand-in trainer (support/fake-trainer.ts; the real trainer is exercised by its own tests). Jobs are
// uploaded with a plain S3 client, as a user would.
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import { createDocumentClient } from '../../../shared/aws/clients.ts';
import { DynamoDbJobStore } from '../../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleReader } from '../../../shared/aws/dynamodb-samples.ts';
import { requestCancel } from '../../../shared/job-record.ts';
import { jobKeys } from '../../../shared/keys.ts';

let pipeline: EmbeddedPipeline;
let s3: S3Client;
let jobs: DynamoDbJobStore;
let samples: DynamoDbSampleReader;
const lines: string[] = [];
const failOnce = new Set<string>();

beforeAll(async () => {
  pipeline = await startEmbeddedPipeline({
    projectRoot: process.cwd(),
    trainerCommand: [process.execPath, 'test/integration/infra/support/fake-trainer.ts'],
    waitOverridesMs: { initial: 300, loop: 150 },
    retryIntervalMs: 10,
    log: (line) => lines.push(line),
    // Fault injection: evaluate-stop throws once for the jobs listed in failOnce.
    wrapTask: (task, handler) => async (input) => {
      const jobId = (input as { jobId?: string }).jobId ?? '';
      if (task === 'evaluateStop' && failOnce.delete(jobId))
        throw new Error('injected evaluate-stop failure');
      return handler(input);
    },
  });
  const { aws } = pipeline;
  s3 = new S3Client({
    region: aws.region,
    credentials: aws.credentials,
    endpoint: aws.s3Endpoint,
    forcePathStyle: true,
  });
  const documents = createDocumentClient({
    region: aws.region,
    credentials: aws.credentials,
    endpoint: aws.dynamodbEndpoint,
  });
  jobs = new DynamoDbJobStore(documents, aws.table);
  samples = new DynamoDbSampleReader(documents, aws.table);
  await put('models/tiny/model_index.json', '{"_class_name": "StableDiffusionPipeline"}');
});

afterAll(async () => {
  s3?.destroy();
  await pipeline?.close();
});

async function put(key: string, body: string | Uint8Array): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: pipeline.aws.bucket, Key: key, Body: body }));
}

async function text(key: string): Promise<string | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: pipeline.aws.bucket, Key: key }));
    return await out.Body?.transformToString();
  } catch {
    return undefined;
  }
}

async function upload(
  jobId: string,
  images: readonly Uint8Array[],
  stop: { window: number } = { window: 20 },
): Promise<void> {
  const keys = jobKeys(jobId);
  for (const [i, image] of images.entries()) await put(`${keys.imagesPrefix}img-${i}.png`, image);
  const manifest = {
    token: '<cat-toy>',
    initializerToken: 'toy',
    baseModel: 'tiny',
    training: { maxSteps: 400 },
    // evalEvery 1: one deterministic loss per step, so the tiny windows fit the tiny budgets.
    stop: { ...stop, threshold: 0.15, evalEvery: 1 },
  };
  await put(keys.manifest, JSON.stringify(manifest));
}

async function settled(jobId: string): Promise<void> {
  for (let i = 0; i < 400 && !pipeline.submissions.some((s) => 'jobId' in s && s.jobId === jobId); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  await pipeline.idle();
}

const png = () =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .png()
    .toBuffer();

describe('embedded pipeline', () => {
  it('runs an uploaded job to SUCCEEDED with the stop decided by the monitor', async () => {
    const seen: string[] = [];
    const observe = async () => {
      const status = (await jobs.get('toy-1'))?.status;
      if (status && seen[seen.length - 1] !== status) seen.push(status);
    };
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        await observe();
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    await upload('toy-1', [await png(), await png()]);
    await settled('toy-1');
    watching = false;
    await watcher;
    await observe();
    expect(seen).toEqual(['QUEUED', 'RUNNING', 'STOPPING', 'SUCCEEDED']);

    const record = await jobs.get('toy-1');
    expect(record).toMatchObject({ status: 'SUCCEEDED', stopReason: 'criterion', stopRequested: true });
    const criterionStep = record?.criterionStep ?? -1;
    const lastStep = record?.lastStep ?? -1;
    expect(criterionStep).toBeGreaterThanOrEqual(20);
    expect(lastStep).toBeGreaterThanOrEqual(criterionStep);
    expect(lastStep).toBeLessThan(399);

    const report = JSON.parse((await text(jobKeys('toy-1').report)) ?? '{}');
    expect(report).toMatchObject({
      status: 'SUCCEEDED',
      criterionStep,
      stopLatencySteps: lastStep - criterionStep,
    });
    expect(await text(jobKeys('toy-1').lossChart)).toContain('<svg');

    const [execution] = pipeline.monitor.executions;
    expect(execution).toMatchObject({ name: 'toy-1', status: 'SUCCEEDED' });
    const states = lines.filter((l) => l.startsWith('[monitor toy-1]')).map((l) => l.split('] ')[1]);
    expect(states.slice(0, 4)).toEqual(['IsContinuation', 'Begin', 'InitialWait', 'EvaluateStop']);
    expect(states.filter((s) => s === 'RequestStop')).toHaveLength(1);
    expect(states.slice(-2)).toEqual(['Finalize', 'Done']);
    expect(pipeline.events.events).toEqual([
      expect.objectContaining({
        detailType: 'Plateau Job Finished',
        detail: expect.objectContaining({ jobId: 'toy-1', status: 'SUCCEEDED', criterionStep }),
      }),
    ]);
  });

  it('treats a replayed S3 event as a duplicate: one job, one Batch job, one execution', async () => {
    const replay = {
      Records: [
        {
          eventName: 'ObjectCreated:Put',
          s3: { bucket: { name: pipeline.aws.bucket }, object: { key: jobKeys('toy-1').manifest } },
        },
      ],
    };
    expect(await pipeline.deliver(replay)).toEqual([{ outcome: 'duplicate', jobId: 'toy-1' }]);
    expect(pipeline.monitor.executions.filter((e) => e.name === 'toy-1')).toHaveLength(1);
    expect((await jobs.get('toy-1'))?.status).toBe('SUCCEEDED');
  });

  it('retries an attempt lost to a Spot reclaim; samples of the rerun overwrite, never duplicate', async () => {
    await upload('toy-reclaim', [await png()]);
    let batchJobId: string | undefined;
    for (let i = 0; i < 400 && !batchJobId; i++) {
      batchJobId = (await jobs.get('toy-reclaim'))?.batchJobId;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (!batchJobId) throw new Error('no Batch job was submitted');
    for (let i = 0; i < 400 && (await samples.read('toy-reclaim')).length < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    pipeline.batch.reclaim(batchJobId);
    await settled('toy-reclaim');

    const batch = await pipeline.batch.describe(batchJobId);
    expect(batch?.status).toBe('SUCCEEDED');
    expect(batch?.attempts).toHaveLength(2);
    expect(batch?.attempts[0]?.exitCode).toBe(137);
    const record = await jobs.get('toy-reclaim');
    expect(record?.status).toBe('SUCCEEDED');
    const steps = (await samples.read('toy-reclaim')).map((sample) => sample.step);
    expect(new Set(steps).size).toBe(steps.length);
    expect(steps).toEqual(steps.map((_, i) => i));
    const report = JSON.parse((await text(jobKeys('toy-reclaim').report)) ?? '{}');
    expect(report.timings.attempts).toBe(2);
  });

  it('retries an evaluate-stop that throws once; the job still succeeds', async () => {
    failOnce.add('toy-flaky');
    await upload('toy-flaky', [await png()]);
    await settled('toy-flaky');
    expect(failOnce.has('toy-flaky')).toBe(false);
    expect((await jobs.get('toy-flaky'))?.status).toBe('SUCCEEDED');
    const states = lines.filter((l) => l.startsWith('[monitor toy-flaky]')).map((l) => l.split('] ')[1]);
    expect(states).not.toContain('MonitorFailed');
  });

  it("cancels a running job: CANCELLED with the last step's artifacts", async () => {
    await upload('toy-cancel', [await png()], { window: 390 });
    for (let i = 0; i < 400 && (await samples.read('toy-cancel')).length < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await requestCancel(jobs, 'toy-cancel', new Date())).toBeDefined();
    await settled('toy-cancel');
    const record = await jobs.get('toy-cancel');
    expect(record).toMatchObject({ status: 'CANCELLED', stopReason: 'cancelled' });
    expect(record?.lastStep ?? 399).toBeLessThan(399);
    expect(await text(jobKeys('toy-cancel').embedding('<cat-toy>'))).toBe('fake embedding');
    expect(pipeline.events.events.map((e) => e.detail)).toContainEqual(
      expect.objectContaining({ jobId: 'toy-cancel', status: 'CANCELLED' }),
    );
  });

  it('fails a job with a corrupt image with the reason, without running the trainer or writing outputs', async () => {
    await upload('toy-bad', [await png(), new TextEncoder().encode('this is not an image at all')]);
    await settled('toy-bad');
    const record = await jobs.get('toy-bad');
    expect(record?.status).toBe('FAILED');
    expect(record?.error).toMatch(/img-1\.png is not a PNG, JPEG or WebP/);
    expect(record?.batchJobId).toBeUndefined();
    expect(pipeline.monitor.executions.map((e) => e.name)).not.toContain('toy-bad');
    expect(await text(jobKeys('toy-bad').report)).toBeUndefined();
  });
});
