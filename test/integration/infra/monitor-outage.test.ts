// Transient errors spare training, end to end on the embedded runtime (s3rver, dynalite, the synthesized monitor,
// the local job runner with the stand-in trainer): evaluate-stop throttled for several evaluations in a row, each
// after its own retries, and the job still ends SUCCEEDED by the criterion with its Batch job never terminated;
// a trainer attempt that fails temporarily (S3 SlowDown, exit 75) is retried and the job succeeds.
import sharp from 'sharp';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import { jobKeys } from '../../../shared/keys.ts';

let pipeline: EmbeddedPipeline;
let evaluations = 0;
let failed = 0;
/** Evaluations 3 to 14 fail: 3 whole evaluations (4 attempts each) lost to "throttling". */
const OUTAGE = { from: 3, to: 14 };

beforeAll(async () => {
  pipeline = await startEmbeddedPipeline({
    projectRoot: process.cwd(),
    trainerCommand: [process.execPath, 'test/integration/infra/support/fake-trainer.ts'],
    trainerEnvironment: { FAKE_TRAINER_STEP_MS: '20' },
    waitOverridesMs: { initial: 300, loop: 150 },
    retryIntervalMs: 10,
    reconcileEveryMs: 0,
    wrapTask: (task, handler) => async (input) => {
      if (task === 'evaluateStop' && (input as { jobId?: string }).jobId === 'outage') {
        evaluations++;
        if (evaluations >= OUTAGE.from && evaluations <= OUTAGE.to) {
          failed++;
          const error = new Error('Rate exceeded');
          error.name = 'ThrottlingException';
          throw error;
        }
      }
      return handler(input);
    },
  });
  await pipeline.stores.objects.put('models/tiny/model_index.json', new TextEncoder().encode('{}'));
});
afterAll(async () => {
  await pipeline?.close();
});

async function submit(jobId: string, token: string): Promise<void> {
  const keys = jobKeys(jobId);
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 9, b: 9 } } })
    .png()
    .toBuffer();
  await pipeline.stores.objects.put(`${keys.imagesPrefix}a.png`, png);
  const manifest = { token, initializerToken: 'toy', baseModel: 'tiny', training: { maxSteps: 400 } };
  await pipeline.stores.objects.put(
    keys.manifest,
    new TextEncoder().encode(
      JSON.stringify({ ...manifest, stop: { window: 20, threshold: 0.15, evalEvery: 1 } }),
    ),
  );
  for (let i = 0; i < 400 && !pipeline.submissions.some((s) => 'jobId' in s && s.jobId === jobId); i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  await pipeline.idle();
}

test('a trainer attempt that fails temporarily (exit 75) is retried: SUCCEEDED on the second attempt', async () => {
  await submit('flaky', '<flaky>');
  const record = await pipeline.stores.jobs.get('flaky');
  expect(record).toMatchObject({ status: 'SUCCEEDED', stopReason: 'criterion' });
  const batch = await pipeline.batch.describe(record?.batchJobId ?? '');
  expect(batch?.status).toBe('SUCCEEDED');
  expect(batch?.attempts.map((a) => a.exitCode)).toEqual([75, 0]);
  // The first attempt recorded its SlowDown; the second attempt cleared it as it started, so the SUCCEEDED job and
  // its completion event carry no stale error.
  expect(record?.error).toBeUndefined();
  const event = pipeline.events.events.find((e) => (e.detail as { jobId?: string }).jobId === 'flaky');
  expect(event?.detail).not.toHaveProperty('error');
}, 120_000);

test('an evaluate-stop outage costs time, not the job: SUCCEEDED by the criterion, no TerminateJob', async () => {
  const keys = jobKeys('outage');
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 9, b: 9 } } })
    .png()
    .toBuffer();
  await pipeline.stores.objects.put(`${keys.imagesPrefix}a.png`, png);
  await pipeline.stores.objects.put(
    keys.manifest,
    new TextEncoder().encode(
      JSON.stringify({
        token: '<cat-toy>',
        initializerToken: 'toy',
        baseModel: 'tiny',
        training: { maxSteps: 400 },
        stop: { window: 20, threshold: 0.15, evalEvery: 1 },
      }),
    ),
  );
  for (let i = 0; i < 400 && !pipeline.submissions.some((s) => 'jobId' in s && s.jobId === 'outage'); i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  await pipeline.idle();

  expect(failed).toBe(OUTAGE.to - OUTAGE.from + 1);
  const record = await pipeline.stores.jobs.get('outage');
  expect(record).toMatchObject({ status: 'SUCCEEDED', stopReason: 'criterion' });
  expect(record?.error).toBeUndefined();
  const batch = await pipeline.batch.describe(record?.batchJobId ?? '');
  expect(batch?.status).toBe('SUCCEEDED');
}, 120_000);
