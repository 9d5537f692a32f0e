// The embedded pipeline with the real trainer (trainer-image/src/main.ts) on test/fixtures/tiny-sd:
// a job stopped by the monitor ends SUCCEEDED with a loadable embedding; a job whose trainer is killed
// mid-run (a Spot reclaim) is restarted by the local runner, resumes from its checkpoint, and ends with the
// same embedding as an uninterrupted run and one sample per step; one sent SIGTERM checkpoints the step it is
// at and exits 75, and its retry resumes from exactly that step.

import sharp from 'sharp';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../../infra/embedded/embedded-pipeline.ts';
import { jobKeys } from '../../../shared/keys.ts';
import { readSafetensors } from '../../../shared/safetensors.ts';
import { fixtureDir } from '../../support/fixtures.ts';

const FIXTURE = fixtureDir('tiny-sd');
let pipeline: EmbeddedPipeline;
const lines: string[] = [];

beforeAll(async () => {
  pipeline = await startEmbeddedPipeline({
    projectRoot: process.cwd(),
    waitOverridesMs: { initial: 500 },
    retryIntervalMs: 10,
    log: (line) => lines.push(line),
  });
  await pipeline.uploadFolder(FIXTURE, 'models/tiny-sd/');
}, 60_000);

afterAll(async () => {
  await pipeline?.close();
  process.stderr.write(`${lines.filter((l) => /^(resume|stop):/.test(l)).join('\n')}\n`);
});

async function upload(jobId: string, manifest: Record<string, unknown>): Promise<void> {
  const keys = jobKeys(jobId);
  for (let i = 0; i < 2; i++) {
    const png = await sharp({
      create: { width: 48, height: 48, channels: 3, background: { r: 90 * i, g: 120, b: 30 } },
    })
      .png()
      .toBuffer();
    await pipeline.stores.objects.put(`${keys.imagesPrefix}${i}.png`, png);
  }
  const body = { token: '<toy>', initializerToken: 'cat', baseModel: 'tiny-sd', ...manifest };
  await pipeline.stores.objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify(body)));
}

async function finished(jobId: string) {
  for (let i = 0; i < 6000; i++) {
    const record = await pipeline.stores.jobs.get(jobId);
    if (record && ['SUCCEEDED', 'FAILED', 'CANCELLED'].includes(record.status)) {
      await pipeline.idle();
      return (await pipeline.stores.jobs.get(jobId)) ?? record;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${jobId} did not finish`);
}

async function embedding(jobId: string): Promise<Float32Array> {
  const bytes = await pipeline.stores.objects.get(jobKeys(jobId).embedding('<toy>'));
  if (!bytes) throw new Error(`${jobId}: no embedding`);
  const tensor = readSafetensors(bytes).tensors.get('<toy>');
  if (!tensor) throw new Error(`${jobId}: no <toy> tensor`);
  return new Float32Array(tensor.bytes.slice().buffer);
}

describe('embedded pipeline with the real trainer', () => {
  it('stops at the DVAR criterion decided by the monitor and writes a loadable embedding', async () => {
    await upload('real-stop', {
      training: { maxSteps: 400, batchSize: 1 },
      stop: { window: 20, evalBatchSize: 2 },
    });
    const record = await finished('real-stop');
    expect(record).toMatchObject({ status: 'SUCCEEDED', stopReason: 'criterion' });
    const latency = (record.lastStep ?? 0) - (record.criterionStep ?? 0);
    expect(latency).toBeGreaterThanOrEqual(0);
    lines.push(`stop: criterion ${record.criterionStep}, last ${record.lastStep}`);
    // Bounded by the monitor's polling; small on this model only when evaluate-stop's startup wait allows.
    expect(record.lastStep ?? 400).toBeLessThan(399);
    expect((await embedding('real-stop')).length).toBeGreaterThan(0);
  }, 240_000);

  it('runs a DreamBooth-LoRA job to SUCCEEDED with its kohya file, listed in the record and report', async () => {
    await upload('real-lora', {
      method: 'dreambooth-lora',
      training: { maxSteps: 60, batchSize: 1 },
      stop: { window: 15, evalBatchSize: 2 },
      lora: { rank: 2, targets: 'attention' },
    });
    const record = await finished('real-lora');
    expect(record.status).toBe('SUCCEEDED');
    const keys = jobKeys('real-lora');
    expect(record.artifacts).toEqual(
      expect.arrayContaining([keys.embedding('<toy>'), `${keys.outputPrefix}<toy>-lora.safetensors`]),
    );
    const lora = await pipeline.stores.objects.get(`${keys.outputPrefix}<toy>-lora.safetensors`);
    const file = readSafetensors(lora!);
    // tiny-sd: 6 transformer blocks × 8 attention projections, three keys each.
    expect(file.tensors.size).toBe(6 * 8 * 3);
    expect(file.metadata.ss_network_dim).toBe('2');
    const report = JSON.parse(new TextDecoder().decode((await pipeline.stores.objects.get(keys.report))!));
    expect(report.method).toBe('dreambooth-lora');
    expect(report.artifacts.outputs).toHaveLength(2);
  }, 240_000);

  it('runs a Custom Diffusion job to SUCCEEDED with the diffusers and delta files, listed in the report', async () => {
    await upload('real-cd', {
      method: 'custom-diffusion',
      training: { maxSteps: 40, batchSize: 1 },
      stop: { window: 15, evalBatchSize: 2 },
      customDiffusion: { classWord: 'toy', priorPreservation: false },
    });
    const record = await finished('real-cd');
    expect(record.status).toBe('SUCCEEDED');
    const keys = jobKeys('real-cd');
    const files = [
      `${keys.outputPrefix}pytorch_custom_diffusion_weights.safetensors`,
      `${keys.outputPrefix}<toy>-cd-delta.safetensors`,
    ];
    expect(record.artifacts).toEqual(expect.arrayContaining([keys.embedding('<toy>'), ...files]));
    // tiny-sd: 6 transformer blocks × attn2 to_k / to_v, full matrices in each file.
    for (const key of files) {
      expect(readSafetensors((await pipeline.stores.objects.get(key))!).tensors.size).toBe(12);
    }
    const report = JSON.parse(new TextDecoder().decode((await pipeline.stores.objects.get(keys.report))!));
    expect(report.method).toBe('custom-diffusion');
    expect(report.artifacts.outputs).toHaveLength(3);
  }, 240_000);

  it('Custom Diffusion with prior preservation: uploaded class images first, the rest generated and cached', async () => {
    // The class image goes up before the manifest: a manifest starts the job.
    const keys = jobKeys('real-cd-prior');
    const png = await sharp({
      create: { width: 40, height: 40, channels: 3, background: { r: 10, g: 200, b: 90 } },
    })
      .png()
      .toBuffer();
    await pipeline.stores.objects.put(`${keys.classImagesPrefix}mine.png`, png);
    await upload('real-cd-prior', {
      method: 'custom-diffusion',
      training: { maxSteps: 20, batchSize: 1 },
      stop: { criterion: 'none', evalBatchSize: 2 },
      customDiffusion: { classWord: 'toy', classImages: 3 },
    });
    const record = await finished('real-cd-prior');
    expect(record.status).toBe('SUCCEEDED');
    const token = readSafetensors((await pipeline.stores.objects.get(keys.embedding('<toy>')))!);
    expect(token.metadata['plateau.class_images_generated']).toBe('2');
    expect(token.metadata['plateau.prior_class_images']).toBe('3');
    const cached = await pipeline.stores.objects.list(`${keys.root}class-images/`);
    expect(cached).toHaveLength(2);
    // Their time is reported apart from training: the trainer's partial report, kept and completed by finalize.
    const report = JSON.parse(new TextDecoder().decode((await pipeline.stores.objects.get(keys.report))!));
    expect(report.classImages).toMatchObject({ count: 3, generated: 2 });
    expect(report.timings.classImagesSeconds).toBe(report.classImages.seconds);
    expect(report.timings.classImagesSeconds).toBeGreaterThan(0);
  }, 240_000);

  it('resumes after a reclaim with the same embedding as an uninterrupted run and no duplicate samples', async () => {
    const manifest = {
      training: { maxSteps: 130, batchSize: 1 },
      stop: { criterion: 'none', evalBatchSize: 2 },
    };
    await upload('real-ref', manifest);
    await upload('real-reclaim', manifest);
    let batchJobId: string | undefined;
    for (let i = 0; i < 6000; i++) {
      const record = await pipeline.stores.jobs.get('real-reclaim');
      batchJobId = record?.batchJobId;
      if (batchJobId && (record?.lastCheckpointStep ?? 0) >= 100) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!batchJobId) throw new Error('no Batch job');
    pipeline.batch.reclaim(batchJobId);
    const [reference, resumed] = await Promise.all([finished('real-ref'), finished('real-reclaim')]);
    expect(reference.status).toBe('SUCCEEDED');
    expect(resumed.status).toBe('SUCCEEDED');
    expect((await pipeline.batch.describe(batchJobId))?.attempts).toHaveLength(2);
    expect(lines.some((l) => /resuming at step 100/.test(l))).toBe(true);
    // Bit-for-bit (docs/architecture.md): the resumed run must reproduce the uninterrupted one exactly.
    const [a, b] = [await embedding('real-reclaim'), await embedding('real-ref')];
    const worst = Math.max(...Array.from(a, (v, i) => Math.abs(v - (b[i] ?? Number.NaN))));
    lines.push(`resume: max |diff| ${worst} over ${a.length} values`);
    expect(Array.from(a)).toEqual(Array.from(b));
    const steps = (await pipeline.stores.samples.read('real-reclaim')).map((s) => s.step);
    expect(steps).toEqual(Array.from({ length: 130 }, (_, i) => i));
  }, 480_000);

  it('checkpoints the step it is at on SIGTERM and exits 75; the retry resumes there, bit-identical', async () => {
    const manifest = {
      training: { maxSteps: 90, batchSize: 1 },
      stop: { criterion: 'none', evalBatchSize: 2 },
    };
    await upload('term-ref', manifest);
    await upload('term', manifest);
    let batchJobId: string | undefined;
    let seen = -1;
    for (let i = 0; i < 6000 && seen < 30; i++) {
      batchJobId = (await pipeline.stores.jobs.get('term'))?.batchJobId;
      const samples = await pipeline.stores.samples.read('term');
      seen = samples[samples.length - 1]?.step ?? -1;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (!batchJobId) throw new Error('no Batch job');
    // A reclaim with ECS's stop: SIGTERM, SIGKILL only after Batch's 30 s.
    const signalledAt = Date.now();
    pipeline.batch.reclaim(batchJobId, 30_000);
    const [reference, resumed] = await Promise.all([finished('term-ref'), finished('term')]);
    expect(reference.status).toBe('SUCCEEDED');
    expect(resumed.status).toBe('SUCCEEDED');
    const batch = await pipeline.batch.describe(batchJobId);
    expect(batch?.attempts.map((a) => a.exitCode)).toEqual([75, 0]);
    const firstStop = batch?.attempts[0]?.stoppedAtMs ?? Number.POSITIVE_INFINITY;
    lines.push(`resume: SIGTERM at step ≥ ${seen}, attempt exited ${firstStop - signalledAt} ms later`);
    expect(firstStop - signalledAt).toBeLessThan(30_000);
    // The checkpoint the SIGTERM wrote: past the last sample seen, off the every-100 cadence, and the retry's start.
    const checkpoints = (await pipeline.stores.objects.list(jobKeys('term').checkpointsPrefix)).map((o) =>
      Number(/step-(\d+)/.exec(o.key)?.[1]),
    );
    const atSignal = checkpoints.filter((step) => step > seen && step < 90);
    expect(atSignal).toHaveLength(1);
    expect(
      lines.some(
        (l) => l.includes(`job term: textual-inversion`) && l.includes(`resuming at step ${atSignal[0]}`),
      ),
    ).toBe(true);
    const [a, b] = [await embedding('term'), await embedding('term-ref')];
    expect(Array.from(a)).toEqual(Array.from(b));
    const steps = (await pipeline.stores.samples.read('term')).map((s) => s.step);
    expect(steps).toEqual(Array.from({ length: 90 }, (_, i) => i));
    expect(resumed.error).toBeUndefined();
  }, 480_000);
});
