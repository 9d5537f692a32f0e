// finalize keeps the trainer's class-image figures (its partial report.json, trainer-report.ts) and reports their
// time apart from training in timings.classImagesSeconds; a report without them has no such field.
import { type FinalizeDeps, finalize } from '../../../../functions/finalize/finalize.ts';
import type { JobRecord } from '../../../../shared/job-record.ts';
import { JobManifest } from '../../../../shared/manifest.ts';
import { Report } from '../../../../shared/report.ts';
import {
  FakeBatch,
  ManualClock,
  MemoryEvents,
  MemoryJobStore,
  MemoryObjectStore,
  MemorySamples,
} from '../in-memory-ports.ts';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const manifest = JobManifest.parse({
  method: 'custom-diffusion',
  token: '<cat>',
  stop: { window: 10, threshold: 0.15 },
  training: { maxSteps: 500 },
});
const record: JobRecord = {
  jobId: 'j',
  status: 'STOPPING',
  createdAt: new Date(T0).toISOString(),
  updatedAt: new Date(T0).toISOString(),
  manifest,
  batchJobId: 'b',
  executionArn: 'arn',
  stopRequested: true,
  stopReason: 'criterion',
  criterionStep: 18,
  attempts: 1,
};

async function run(partial: unknown): Promise<Report> {
  const clock = new ManualClock('2026-01-01T00:05:00.000Z');
  const jobs = new MemoryJobStore(clock);
  await jobs.create(record);
  const objects = new MemoryObjectStore();
  for (const key of [
    '<cat>.safetensors',
    'pytorch_custom_diffusion_weights.safetensors',
    '<cat>-cd-delta.safetensors',
  ])
    await objects.put(`jobs/j/output/${key}`, new Uint8Array(8));
  if (partial !== undefined) {
    await objects.put('jobs/j/output/report.json', new TextEncoder().encode(JSON.stringify(partial)));
  }
  const samples = new MemorySamples();
  samples.byJob.set(
    'j',
    Array.from({ length: 20 }, (_, step) => ({
      step,
      detLoss: 1 / (step + 1),
      trainLoss: 0.5,
      lr: 1e-5,
      wallTimeMs: T0 + 200_000 + step * 1000,
    })),
  );
  const batch = new FakeBatch();
  batch.set('b', {
    status: 'SUCCEEDED',
    attempts: [{ startedAtMs: T0 + 10_000, stoppedAtMs: T0 + 250_000, exitCode: 0 }],
  });
  const deps: FinalizeDeps = {
    objects,
    jobs,
    samples,
    batch,
    events: new MemoryEvents(),
    clock,
    gpuHourPriceUsd: 1,
  };
  await finalize(
    { jobId: 'j', stopRequested: true, decision: { action: 'finished', waitSeconds: 1, criterionStep: 18 } },
    deps,
  );
  return Report.parse(JSON.parse(objects.text('jobs/j/output/report.json')!));
}

test('class images generated before training: their seconds in timings, apart from the GPU total', async () => {
  const report = await run({ classImages: { count: 200, generated: 200, seconds: 173.5 } });
  expect(report.timings.classImagesSeconds).toBe(173.5);
  expect(report.timings.gpuSeconds).toBe(240);
  expect(report.classImages).toEqual({ count: 200, generated: 200, seconds: 173.5 });
});

test('no class images: no classImagesSeconds', async () => {
  const report = await run(undefined);
  expect(report.timings.classImagesSeconds).toBeUndefined();
  expect(report.classImages).toBeUndefined();
});
