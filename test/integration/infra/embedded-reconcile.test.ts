// The embedded runtime runs submit-job's reconciler too: a job whose submission died after validation (its
// record QUEUED with an expired lease, no Batch job, no monitor) is picked up, gets exactly one local Batch job
// and one monitor execution, and ends (FAILED here: the trainer entry is absent, as in trainer-failures).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import { JobManifest } from '../../../shared/manifest.ts';

const elsewhere = mkdtempSync(join(tmpdir(), 'plateau-reconcile-'));
let pipeline: EmbeddedPipeline;
beforeAll(async () => {
  pipeline = await startEmbeddedPipeline({
    projectRoot: elsewhere,
    waitOverridesMs: { initial: 200, loop: 100 },
    reconcileEveryMs: 0,
  });
});
afterAll(async () => {
  await pipeline?.close();
  rmSync(elsewhere, { recursive: true, force: true });
});

test('a submission that died after its lease is finished by the reconciler and the job ends', async () => {
  const now = new Date(Date.now() - 10 * 60_000).toISOString();
  await pipeline.stores.jobs.create({
    jobId: 'orphan',
    status: 'QUEUED',
    createdAt: now,
    updatedAt: now,
    manifest: JobManifest.parse({ token: '<t>' }),
    stopRequested: false,
    attempts: 0,
    submitLeaseUntilMs: Date.now() - 5 * 60_000,
  });
  const [outcome] = await pipeline.reconcile();
  expect(outcome).toMatchObject({ outcome: 'submitted', jobId: 'orphan' });
  expect(await pipeline.reconcile()).toEqual([]);
  await pipeline.idle();
  for (let i = 0; i < 500 && (await pipeline.stores.jobs.get('orphan'))?.status === 'QUEUED'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    await pipeline.idle();
  }
  const record = await pipeline.stores.jobs.get('orphan');
  expect(record?.status).toBe('FAILED');
  expect(record?.error).toMatch(/trainer failed/);
  expect(pipeline.monitor.executions.map((e) => e.name)).toEqual(['orphan']);
}, 60_000);
