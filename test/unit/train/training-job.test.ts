// The pipeline job runner on an in-memory bucket: manifest, base model synced into the cache (ranged parts for
// big objects, skipped when present), images fetched, checkpoints and the embedding under the job's prefix,
// and the automatic resume on a second start. The model is the stand-in; the tokenizer and configs are real.
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import sharp from 'sharp';
import { JobRecord, type JobStore } from '../../../shared/job-record.ts';
import { parseManifest } from '../../../shared/manifest.ts';
import type { ObjectInfo, ObjectStore } from '../../../shared/pipeline-ports.ts';
import type { ArtifactStore, LossSample, SampleSink } from '../../../shared/ports.ts';
import type { TrainBatch } from '../../../trainer-image/src/train/batches.ts';
import type { ModelRequest } from '../../../trainer-image/src/train/personalize.ts';
import { runTrainingJob, syncPrefix } from '../../../trainer-image/src/train/training-job.ts';
import { fixtureDir } from '../../support/fixtures.ts';
import { standInModel } from './support/stand-in-model.ts';

const FIXTURE = fixtureDir('tiny-sd');

class MemoryBucket implements ObjectStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly ranges: string[] = [];
  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, body]) => ({ key, size: body.length }))
      .sort((a, b) => (a.key < b.key ? -1 : 1));
  }
  async get(key: string, range?: { start: number; end: number }) {
    const body = this.objects.get(key);
    if (range) this.ranges.push(`${key}:${range.start}-${range.end}`);
    return body && range ? body.slice(range.start, range.end + 1) : body?.slice();
  }
  async head(key: string) {
    const body = this.objects.get(key);
    return body ? { key, size: body.length } : undefined;
  }
  async put(key: string, body: Uint8Array) {
    this.objects.set(key, body.slice());
  }
}

/** The job prefix of the bucket as an ArtifactStore (what S3ArtifactStore does on S3). */
function prefixStore(bucket: MemoryBucket, root: string): ArtifactStore {
  return {
    put: (key, body) => bucket.put(root + key, body),
    get: (key) => bucket.get(root + key),
    list: async (prefix) => (await bucket.list(root + prefix)).map((o) => o.key.slice(root.length)),
  };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)));
}

async function bucketWithJob(): Promise<MemoryBucket> {
  const bucket = new MemoryBucket();
  for (const file of listFiles(FIXTURE).filter((f) => !f.startsWith('golden'))) {
    bucket.objects.set(`models/tiny/${file}`, new Uint8Array(readFileSync(join(FIXTURE, file))));
  }
  for (let k = 0; k < 2; k++) {
    const png = await sharp({
      create: { width: 40, height: 36, channels: 3, background: { r: 40 * k, g: 90, b: 200 - 50 * k } },
    })
      .png()
      .toBuffer();
    bucket.objects.set(`jobs/job-1/input/images/img${k}.png`, new Uint8Array(png));
  }
  const manifest = {
    token: '<my-toy>',
    initializerToken: 'toy',
    baseModel: 'tiny',
    training: { maxSteps: 12 },
    stop: { criterion: 'none' },
  };
  bucket.objects.set('jobs/job-1/input/job.json', new TextEncoder().encode(JSON.stringify(manifest)));
  return bucket;
}

/** The record submit would have created: the validated manifest, no pinned image list (the older layout). */
function acceptedJobs(bucket: MemoryBucket): Pick<JobStore, 'get'> {
  return {
    get: async (jobId) => {
      const bytes = bucket.objects.get(`jobs/${jobId}/input/job.json`);
      if (!bytes) return undefined;
      const now = '2026-01-01T00:00:00.000Z';
      return JobRecord.parse({
        jobId,
        status: 'RUNNING',
        createdAt: now,
        updatedAt: now,
        manifest: parseManifest(bytes),
      });
    },
  };
}

class ListSink implements SampleSink {
  readonly samples: LossSample[] = [];
  async write(sample: LossSample) {
    this.samples.push(sample);
  }
  async flush() {}
}

describe('syncPrefix', () => {
  it('downloads big objects in ranged parts and skips files already cached', async () => {
    const bucket = new MemoryBucket();
    const big = new Uint8Array(1000 + 10).map((_, i) => i % 251);
    bucket.objects.set('models/m/unet/weights.pb', big);
    bucket.objects.set('models/m/model_index.json', Uint8Array.of(123, 125));
    const dir = mkdtempSync(join(tmpdir(), 'plateau-sync-'));
    expect(await syncPrefix(bucket, 'models/m/', dir, 1000)).toBe(2);
    expect(bucket.ranges).toEqual(['models/m/unet/weights.pb:0-999', 'models/m/unet/weights.pb:1000-1009']);
    expect(statSync(join(dir, 'unet/weights.pb')).size).toBe(big.length);
    expect(new Uint8Array(readFileSync(join(dir, 'unet/weights.pb')).subarray(-10))).toEqual(
      big.subarray(-10),
    );
    bucket.ranges.length = 0;
    await syncPrefix(bucket, 'models/m/', dir, 1000);
    expect(bucket.ranges).toEqual([]);
  });
});

describe('runTrainingJob', () => {
  it('trains from the bucket, writes checkpoints and the embedding, and resumes on the next start', async () => {
    const bucket = await bucketWithJob();
    const cache = mkdtempSync(join(tmpdir(), 'plateau-cache-'));
    const deps = {
      jobId: 'job-1',
      objects: bucket,
      jobs: acceptedJobs(bucket),
      store: prefixStore(bucket, 'jobs/job-1/'),
      stopSignal: { check: async () => ({ stop: false }) },
      loadModel: standInModel(),
      modelCacheDir: cache,
      workDir: mkdtempSync(join(tmpdir(), 'plateau-work-')),
    };
    const notes: number[] = [];
    const sink = new ListSink();
    const result = await runTrainingJob({
      ...deps,
      sink,
      onCheckpoint: async (step) => void notes.push(step),
    });
    expect(result.steps).toBe(12);
    expect(result.resumedFrom).toBeNull();
    expect(notes).toEqual([12]);
    expect(bucket.objects.has('jobs/job-1/output/<my-toy>.safetensors')).toBe(true);
    expect(bucket.objects.has('jobs/job-1/checkpoints/step-00000012.safetensors')).toBe(true);
    expect(readdirSync(join(cache, 'tiny')).sort()).toContain('unet');

    // A second start (a Spot reclaim after the end, say) resumes from the checkpoint instead of retraining.
    const again = await runTrainingJob({ ...deps, sink: new ListSink() });
    expect(again.resumedFrom).toBe(12);
    expect(again.rows).toEqual(result.rows);
  });

  it('Custom Diffusion with uploaded class images: rescaled, loss-weighted batches and the class images in report.json', async () => {
    const bucket = await bucketWithJob();
    for (let k = 0; k < 2; k++) {
      const png = await sharp({
        create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 60 * k, b: 30 } },
      })
        .png()
        .toBuffer();
      bucket.objects.set(`jobs/job-1/input/class/c${k}.png`, new Uint8Array(png));
    }
    const manifest = {
      method: 'custom-diffusion',
      token: '<my-toy>',
      initializerToken: 'toy',
      baseModel: 'tiny',
      training: { maxSteps: 4 },
      customDiffusion: { classWord: 'toy', classImages: 2 },
    };
    bucket.objects.set('jobs/job-1/input/job.json', new TextEncoder().encode(JSON.stringify(manifest)));
    const seen: { requests: ModelRequest[]; batches: TrainBatch[] } = { requests: [], batches: [] };
    const result = await runTrainingJob({
      jobId: 'job-1',
      objects: bucket,
      jobs: acceptedJobs(bucket),
      store: prefixStore(bucket, 'jobs/job-1/'),
      sink: new ListSink(),
      stopSignal: { check: async () => ({ stop: false }) },
      loadModel: standInModel(seen),
      modelCacheDir: mkdtempSync(join(tmpdir(), 'plateau-cache-')),
      workDir: mkdtempSync(join(tmpdir(), 'plateau-work-')),
    });
    expect(result.steps).toBe(4);
    // The manifest's default: random rescale on, so the graph takes loss weights and every batch carries them.
    expect(seen.requests[0]?.lossWeights).toBe(true);
    expect(seen.batches).toHaveLength(4);
    for (const batch of seen.batches) {
      expect(batch.size).toBe(4); // 2 instance + 2 class items
      expect(batch.lossWeights).toHaveLength(4 * batch.latentShape[1] * batch.latentShape[2]);
    }
    const report = JSON.parse(new TextDecoder().decode(bucket.objects.get('jobs/job-1/output/report.json')));
    expect(report.classImages).toMatchObject({ count: 2, generated: 0 });
    expect(report.classImages.seconds).toBeGreaterThanOrEqual(0);
  });

  it('fails clearly when the base model is missing', async () => {
    const bucket = await bucketWithJob();
    for (const key of [...bucket.objects.keys()]) if (key.startsWith('models/')) bucket.objects.delete(key);
    await expect(
      runTrainingJob({
        jobId: 'job-1',
        objects: bucket,
        jobs: acceptedJobs(bucket),
        store: prefixStore(bucket, 'jobs/job-1/'),
        sink: new ListSink(),
        stopSignal: { check: async () => ({ stop: false }) },
        loadModel: standInModel(),
        modelCacheDir: mkdtempSync(join(tmpdir(), 'plateau-cache-')),
        workDir: mkdtempSync(join(tmpdir(), 'plateau-work-')),
      }),
    ).rejects.toThrow(/base model 'tiny' not found/);
  });
});
