// A failed trainer's job says why, on the real embedded components (s3rver, dynalite, the monitor ASL, the local
// job runner): a trainer that cannot start (its entry is missing, as when the project root was the user's
// working directory), the real trainer throwing after it started, and a trainer throwing mid-run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import type { JobRecord } from '../../../shared/job-record.ts';
import { jobKeys } from '../../../shared/keys.ts';

const encode = (text: string) => new TextEncoder().encode(text);

async function upload(pipeline: EmbeddedPipeline, jobId: string, manifest: Record<string, unknown>) {
  const keys = jobKeys(jobId);
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 9, g: 99, b: 9 } } })
    .png()
    .toBuffer();
  await pipeline.stores.objects.put(`${keys.imagesPrefix}0.png`, png);
  await pipeline.stores.objects.put(
    keys.manifest,
    encode(JSON.stringify({ initializerToken: 'toy', ...manifest })),
  );
}

/** Polls until the job is final, noting every status it passed through. */
async function finished(pipeline: EmbeddedPipeline, jobId: string, seen: string[] = []): Promise<JobRecord> {
  for (let i = 0; i < 3000; i++) {
    const record = await pipeline.stores.jobs.get(jobId);
    if (record && seen[seen.length - 1] !== record.status) seen.push(record.status);
    if (record && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(record.status)) {
      await pipeline.idle();
      return (await pipeline.stores.jobs.get(jobId)) ?? record;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${jobId} did not finish`);
}

describe('a trainer that cannot start', () => {
  const elsewhere = mkdtempSync(join(tmpdir(), 'plateau-not-the-project-'));
  let pipeline: EmbeddedPipeline;

  beforeAll(async () => {
    // The bug this guards: the project root taken from the working directory, where no trainer exists.
    pipeline = await startEmbeddedPipeline({
      projectRoot: elsewhere,
      waitOverridesMs: { initial: 200, loop: 100 },
    });
    await pipeline.stores.objects.put('models/m/model_index.json', encode('{}'));
  });

  afterAll(async () => {
    await pipeline?.close();
    rmSync(elsewhere, { recursive: true, force: true });
  });

  it('fails the job with the error the trainer printed, not only the exit code', async () => {
    await upload(pipeline, 'no-start', { token: '<t>', baseModel: 'm' });
    const record = await finished(pipeline, 'no-start');
    expect(record.status).toBe('FAILED');
    expect(record.error).toMatch(
      /^trainer failed: Essential container in task exited \(exit code 1\): Cannot find module '.*plateau-not-the-project-.*trainer-image\/src\/main\.ts'/,
    );
  });
});

describe('the real trainer throwing after it started', () => {
  let pipeline: EmbeddedPipeline;

  beforeAll(async () => {
    pipeline = await startEmbeddedPipeline({
      projectRoot: process.cwd(),
      waitOverridesMs: { initial: 200, loop: 100 },
    });
    // A model folder submit-job accepts (model_index.json exists) but the trainer cannot read.
    await pipeline.stores.objects.put('models/broken/model_index.json', encode('{ this is not json'));
  });

  afterAll(async () => {
    await pipeline?.close();
  });

  it('shows RUNNING, then FAILED with the first line of its error and where in the trainer it was thrown', async () => {
    const seen: string[] = [];
    await upload(pipeline, 'broken-model', { token: '<t>', baseModel: 'broken' });
    const record = await finished(pipeline, 'broken-model', seen);
    expect(seen).toEqual(['QUEUED', 'RUNNING', 'FAILED']);
    expect(record.error).toMatch(/^trainer failed: \S.* \(at trainer-image\/src\/\S+\.ts:\d+:\d+\)$/);
    expect(record.error).not.toContain('\n');
    expect(record.error).not.toMatch(/Essential container/);
  }, 120_000);
});

describe('a trainer throwing mid-run', () => {
  let pipeline: EmbeddedPipeline;

  beforeAll(async () => {
    pipeline = await startEmbeddedPipeline({
      projectRoot: process.cwd(),
      trainerCommand: [process.execPath, 'test/integration/infra/support/fake-trainer.ts'],
      waitOverridesMs: { initial: 200, loop: 100 },
    });
    await pipeline.stores.objects.put('models/m/model_index.json', encode('{}'));
  });

  afterAll(async () => {
    await pipeline?.close();
  });

  it('is RUNNING while it trains, then FAILED with its own message and place', async () => {
    const seen: string[] = [];
    await upload(pipeline, 'mid-run', { token: '<crash>', baseModel: 'm', stop: { window: 1000 } });
    const record = await finished(pipeline, 'mid-run', seen);
    expect(seen).toEqual(['QUEUED', 'RUNNING', 'FAILED']);
    expect(record.error).toBe(
      'trainer failed: RangeError: simulated failure at step 30 ' +
        `(at test/integration/infra/support/fake-trainer.ts:${record.error?.match(/fake-trainer\.ts:(\d+:\d+)/)?.[1]})`,
    );
    expect((await pipeline.stores.samples.read('mid-run')).length).toBeGreaterThanOrEqual(25);
    const [event] = pipeline.events.events;
    expect(event?.detail).toMatchObject({ jobId: 'mid-run', status: 'FAILED', error: record.error });
  });
});
