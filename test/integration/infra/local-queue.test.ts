// The embedded runner queues like Batch's maxvCpus, on the real embedded components (s3rver, dynalite, the monitor
// ASL, the local job runner with the stand-in trainer): 20 jobs uploaded at once never have more than the cap of
// trainer processes alive, start in queue order, show QUEUED with their place (record, `plateau status`, the
// console's summary), and all end SUCCEEDED — none failed by the stop grace period while it waited; one cancelled
// while queued ends CANCELLED without a trainer ever starting.
import sharp from 'sharp';
import { formatProgress } from '../../../cli/commands/status.ts';
import { parseUpOptions } from '../../../cli/commands/up.ts';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import { defaultMaxTrainers, parseMaxTrainers } from '../../../infra/embedded/local-batch.ts';
import { requestCancel } from '../../../shared/job-record.ts';
import { summarizeJob } from '../../../shared/job-summary.ts';
import { jobKeys } from '../../../shared/keys.ts';

const CAP = 3;
const JOBS = Array.from({ length: 20 }, (_, i) => `q-${String(i).padStart(2, '0')}`);
let pipeline: EmbeddedPipeline;

beforeAll(async () => {
  pipeline = await startEmbeddedPipeline({
    projectRoot: process.cwd(),
    trainerCommand: [process.execPath, 'test/integration/infra/support/fake-trainer.ts'],
    trainerEnvironment: { FAKE_TRAINER_STEP_MS: '15' },
    maxTrainers: CAP,
    waitOverridesMs: { initial: 300, loop: 150 },
    retryIntervalMs: 10,
  });
  await pipeline.stores.objects.put('models/tiny/model_index.json', new TextEncoder().encode('{}'));
});

afterAll(async () => {
  await pipeline?.close();
});

test('the default cap follows the cores and the memory; a configured one must be a positive integer', () => {
  const GiB = 1024 ** 3;
  expect(defaultMaxTrainers({ cores: 16, memoryBytes: 128 * GiB })).toBe(16);
  expect(defaultMaxTrainers({ cores: 16, memoryBytes: 8 * GiB })).toBe(3);
  expect(defaultMaxTrainers({ cores: 1, memoryBytes: 1 * GiB })).toBe(1);
  expect(parseMaxTrainers(undefined, 'X')).toBeUndefined();
  expect(parseMaxTrainers(' 4 ', 'X')).toBe(4);
  expect(() => parseMaxTrainers('0', 'PLATEAU_LOCAL_MAX_TRAINERS')).toThrow(
    "PLATEAU_LOCAL_MAX_TRAINERS must be a positive integer (got '0')",
  );
  expect(() => parseMaxTrainers('2.5', 'X')).toThrow(/positive integer/);
  expect(parseUpOptions(['--max-trainers', '2']).maxTrainers).toBe(2);
  expect(parseUpOptions([]).maxTrainers).toBeUndefined();
  expect(() => parseUpOptions(['--max-trainers', '0'])).toThrow(
    "--max-trainers must be a positive integer (got '0')",
  );
});

test(`20 jobs at once: at most ${CAP} trainers alive, FIFO with places shown, every job SUCCEEDED`, async () => {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 9, b: 9 } } })
    .png()
    .toBuffer();
  await Promise.all(
    JOBS.map(async (jobId) => {
      const keys = jobKeys(jobId);
      await pipeline.stores.objects.put(`${keys.imagesPrefix}a.png`, png);
      const manifest = {
        token: '<cat-toy>',
        initializerToken: 'toy',
        baseModel: 'tiny',
        training: { maxSteps: 400 },
        stop: { window: 20, threshold: 0.15 },
      };
      await pipeline.stores.objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify(manifest)));
    }),
  );
  // Watch: trainers alive (Batch RUNNING) never above the cap; queued records carry places 1..k, in one order.
  let peakRunning = 0;
  const placesSeen: Map<string, number>[] = [];
  const progressLines: string[] = [];
  const cancelled = JOBS[JOBS.length - 1]!;
  let cancelSent = false;
  for (let round = 0; round < 3000; round++) {
    const records = await Promise.all(JOBS.map((jobId) => pipeline.stores.jobs.get(jobId)));
    let running = 0;
    for (const record of records) {
      if (!record?.batchJobId) continue;
      if ((await pipeline.batch.describe(record.batchJobId))?.status === 'RUNNING') running++;
    }
    peakRunning = Math.max(peakRunning, running);
    const places = new Map<string, number>();
    for (const record of records) {
      if (record?.status === 'QUEUED' && record.queuePosition !== undefined)
        places.set(record.jobId, record.queuePosition);
    }
    if (places.size > 0) placesSeen.push(places);
    if (!cancelSent && places.has(cancelled) && (places.get(cancelled) ?? 0) > CAP)
      cancelSent = (await requestCancel(pipeline.stores.jobs, cancelled, new Date())) !== undefined;
    const waiting = [...places.keys()][0];
    if (waiting && progressLines.length < 3) {
      const summary = await summarizeJob(pipeline.stores, waiting);
      if (summary) progressLines.push(formatProgress(summary));
    }
    if (records.every((r) => r && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(r.status))) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await pipeline.idle();

  expect(peakRunning).toBeLessThanOrEqual(CAP);
  expect(pipeline.batch.peakTrainers).toBe(CAP);
  const finals = await Promise.all(JOBS.map((jobId) => pipeline.stores.jobs.get(jobId)));
  expect(cancelSent).toBe(true);
  expect(finals.map((r) => r?.status)).toEqual(
    JOBS.map((jobId) => (jobId === cancelled ? 'CANCELLED' : 'SUCCEEDED')),
  );
  const cancelledBatch = await pipeline.batch.describe(finals[JOBS.length - 1]?.batchJobId ?? '');
  expect(cancelledBatch).toMatchObject({ status: 'FAILED', attempts: [] });
  expect(finals.every((r) => r?.queuePosition === undefined)).toBe(true);

  // Places were shown (20 jobs, 3 slots), and the job shown first starts first.
  expect(placesSeen.length).toBeGreaterThan(0);
  expect(Math.max(...placesSeen.map((p) => Math.max(...p.values())))).toBeGreaterThanOrEqual(10);
  const startOf = async (jobId: string) => {
    const record = finals.find((r) => r?.jobId === jobId);
    return (await pipeline.batch.describe(record?.batchJobId ?? ''))?.attempts[0]?.startedAtMs ?? Number.NaN;
  };
  const firstView = placesSeen[0]!;
  const byPlace = [...firstView.entries()]
    .filter(([jobId]) => jobId !== cancelled)
    .sort((a, b) => a[1] - b[1])
    .map(([jobId]) => jobId);
  const starts = await Promise.all(byPlace.map(startOf));
  expect(starts).toEqual([...starts].sort((a, b) => a - b));
  expect(progressLines[0]).toMatch(/^q-\d\d {2}QUEUED +#\d+ in the queue/);
}, 300_000);
