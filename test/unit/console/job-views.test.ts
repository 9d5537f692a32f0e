// The savings sentence the job page shows, from report.json (steps always, money only when GPU time is priced),
// and the list's budget saved, for runs DVAR stopped only.
import { JobViews, savingsLine } from '../../../console/job-views.ts';
import { JobRecord } from '../../../shared/job-record.ts';
import { jobKeys } from '../../../shared/keys.ts';
import { JobManifest } from '../../../shared/manifest.ts';
import type { Report } from '../../../shared/report.ts';
import {
  ManualClock,
  MemoryJobStore,
  MemoryObjectStore,
  MemorySamples,
} from '../functions/in-memory-ports.ts';

const base = {
  steps: 499,
  maxSteps: 6100,
  criterionStep: 461,
  lastStep: 498,
  stopLatencySteps: 37,
  cost: { gpuHourPriceUsd: 0, estimatedUsd: 0, fullBudgetUsd: 0, savedFraction: 0 },
};
const report = (fields: Partial<Report>) => ({ ...base, stopReason: 'criterion', ...fields }) as Report;

test('a DVAR stop names the criterion step, the stop, the latency and the budget saved', () => {
  expect(savingsLine(report({}))).toBe(
    'DVAR held at step 461 and training stopped at step 498 (37 steps later): 499 of 6100 steps, 92% of the fixed budget saved.',
  );
  expect(savingsLine(report({ stopLatencySteps: 1 }))).toContain('(1 step later)');
});

test('a priced run adds the money; other endings say what happened', () => {
  const cost = { gpuHourPriceUsd: 1, estimatedUsd: 0.1, fullBudgetUsd: 1.22, savedFraction: 0.92 };
  expect(savingsLine(report({ cost }))).toMatch(/saved — \$0\.10 instead of \$1\.22\.$/);
  expect(savingsLine(report({ stopReason: 'max-steps' }))).toBe(
    'DVAR never held: trained the whole budget of 6100 steps.',
  );
  expect(savingsLine(report({ stopReason: 'cancelled' }))).toBe('Cancelled after 499 of 6100 steps.');
});

test('the job list shows a budget saved for runs DVAR stopped, not for cancelled ones', async () => {
  const clock = new ManualClock();
  const stores = {
    objects: new MemoryObjectStore(),
    jobs: new MemoryJobStore(clock),
    samples: new MemorySamples(),
  };
  const now = clock.now().toISOString();
  const manifest = JobManifest.parse({ token: '<t>' });
  for (const [jobId, status, stopReason] of [
    ['stopped', 'SUCCEEDED', 'criterion'],
    ['cancelled', 'CANCELLED', 'cancelled'],
  ] as const) {
    const keys = jobKeys(jobId);
    await stores.objects.put(keys.manifest, new TextEncoder().encode('{}'));
    await stores.jobs.create(JobRecord.parse({ jobId, status, createdAt: now, updatedAt: now, manifest }));
    const full = {
      version: 1,
      jobId,
      status,
      method: 'textual-inversion',
      token: '<t>',
      baseModel: 'default',
      stopReason,
      steps: 610,
      lastStep: 609,
      criterionStep: stopReason === 'criterion' ? 600 : null,
      stopLatencySteps: null,
      stopLatencyFraction: null,
      maxSteps: 6100,
      dvar: {
        criterion: 'dvar',
        window: 310,
        threshold: 0.15,
        evalBatchSize: 4,
        evalEvery: 1,
        finalRatio: 0.1,
      },
      timings: {
        createdAt: now,
        trainerStartedAt: null,
        finishedAt: now,
        wallSeconds: 1,
        gpuSeconds: 1,
        pipelineSeconds: 1,
        attempts: 1,
      },
      cost: { gpuHourPriceUsd: 0, estimatedUsd: 0, fullBudgetUsd: 0, savedFraction: 0 },
      artifacts: { embedding: keys.embedding('<t>'), lossChart: keys.lossChart, samples: [] },
    };
    await stores.objects.put(keys.report, new TextEncoder().encode(JSON.stringify(full)));
  }
  const rows = await new JobViews(stores).list();
  expect(rows.find((r) => r.jobId === 'stopped')?.budgetSaved).toBeCloseTo(0.9);
  expect(rows.find((r) => r.jobId === 'cancelled')).not.toHaveProperty('budgetSaved');
});
