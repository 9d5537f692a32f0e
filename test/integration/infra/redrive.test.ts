// Restarting `plateau up` on saved state re-drives non-final jobs: a job training when the first run stopped (its
// trainer process and monitor execution gone with it) gets a new local Batch job and monitor on the restart and ends
// SUCCEEDED; a job already final is left alone. Real s3rver, dynalite and monitor; the stand-in trainer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import { redrivePipeline } from '../../../infra/embedded/redrive.ts';
import { jobKeys } from '../../../shared/keys.ts';

const stateDir = mkdtempSync(join(tmpdir(), 'plateau-redrive-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

const start = () =>
  startEmbeddedPipeline({
    projectRoot: process.cwd(),
    stateDir,
    trainerCommand: [process.execPath, 'test/integration/infra/support/fake-trainer.ts'],
    trainerEnvironment: { FAKE_TRAINER_STEP_MS: '40' },
    waitOverridesMs: { initial: 200, loop: 100 },
    reconcileEveryMs: 0,
  });

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1600; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function upload(pipeline: EmbeddedPipeline, jobId: string, window: number): Promise<void> {
  const keys = jobKeys(jobId);
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#c84' } })
    .png()
    .toBuffer();
  await pipeline.stores.objects.put(`${keys.imagesPrefix}a.png`, png);
  const manifest = {
    token: '<t>',
    baseModel: 'm',
    training: { maxSteps: 400 },
    stop: { window, evalEvery: 1 },
  };
  await pipeline.stores.objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify(manifest)));
}

test('a job cut off by a stop is trained and finished after the restart; a final one is not touched', async () => {
  const first = await start();
  let oldBatchJobId: string | undefined;
  try {
    await first.stores.objects.put('models/m/model_index.json', new TextEncoder().encode('{}'));
    await upload(first, 'cut-off', 20);
    await until(async () => (await first.stores.samples.read('cut-off')).length >= 10, 'cut-off to train');
    const record = await first.stores.jobs.get('cut-off');
    expect(record?.status).toMatch(/^(RUNNING|STOPPING)$/);
    oldBatchJobId = record?.batchJobId;
  } finally {
    await first.close();
  }
  // Stopped mid-run: the record still says RUNNING (or STOPPING), nothing drives it any more.
  const second = await start();
  try {
    await upload(second, 'done', 20);
    await until(async () => (await second.stores.jobs.get('done'))?.status === 'SUCCEEDED', 'done to finish');
    const lines: string[] = [];
    expect(await redrivePipeline(second, (line) => lines.push(line))).toEqual(['cut-off']);
    expect(lines).toEqual([
      expect.stringMatching(/^re-driven job cut-off \((RUNNING|STOPPING)\): Batch job /),
    ]);
    const redriven = await second.stores.jobs.get('cut-off');
    expect(redriven?.batchJobId).not.toBe(oldBatchJobId);
    await until(
      async () => (await second.stores.jobs.get('cut-off'))?.status === 'SUCCEEDED',
      'cut-off to end',
    );
    await second.idle();
    expect(await second.stores.objects.get(jobKeys('cut-off').embedding('<t>'))).toBeDefined();
    expect(second.monitor.executions.filter((e) => e.name === 'cut-off')).toHaveLength(1);
    // Nothing left to re-drive.
    expect(await redrivePipeline(second)).toEqual([]);
  } finally {
    await second.close();
  }
}, 120_000);
