// One pipeline job on the trainer container: read the manifest and image list pinned on the job record at
// submit, sync the base model into the local cache, fetch exactly those images (by ETag), and run the job's method (run-job.ts, as `plateau train` does) with the pipeline's ports —
// samples to the sink, the stop flag from the job record, checkpoints and outputs under the job's prefix. It always resumes from the
// latest checkpoint (checkpointed at once on SIGTERM: `interrupted`), dropping the samples a lost attempt wrote past
// it, so a Spot reclaim costs only the steps since it. The monitor decides when to stop.
import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { inputsChangedReason, type JobInputs, type PinnedImage } from '../../../shared/job-inputs.ts';
import type { JobStore } from '../../../shared/job-record.ts';
import { imageNameFromKey, jobKeys, modelPrefix } from '../../../shared/keys.ts';
import type { JobManifest } from '../../../shared/manifest.ts';
import { ObjectChangedError, type ObjectStore } from '../../../shared/pipeline-ports.ts';
import type { ArtifactStore, SampleSink, StopSignal } from '../../../shared/ports.ts';
import type { GenerateImages } from './class-images.ts';
import { loadTrainingImages } from './images.ts';
import { modelResolution } from './model-resolution.ts';
import type { RunDeps } from './personalize.ts';
import { type JobRunResult, runJob } from './run-job.ts';
import type { RenderSamples } from './sampler.ts';

export interface TrainingJobDeps {
  readonly jobId: string;
  /** The bucket (full keys). */
  readonly objects: ObjectStore;
  /** The job records: the manifest and images to train are the ones pinned at submit, not job.json now. */
  readonly jobs: Pick<JobStore, 'get'>;
  /** The job's prefix (`jobs/<jobId>/`) as an ArtifactStore: checkpoints/ and output/. */
  readonly store: ArtifactStore;
  readonly sink: SampleSink;
  readonly stopSignal: StopSignal;
  readonly loadModel: RunDeps['loadModel'];
  /** Local folder where base models are cached across jobs on the same host. */
  readonly modelCacheDir: string;
  /** Scratch folder for this job's images. */
  readonly workDir: string;
  readonly onCheckpoint?: (step: number) => Promise<void>;
  /** True once the process must end (SIGTERM): the run checkpoints its step and throws TrainingInterrupted. */
  readonly interrupted?: () => boolean;
  readonly log?: (line: string) => void;
  /** Validation images of the learned token, written under output/samples/ after the embedding. */
  readonly renderSamples?: RenderSamples;
  /** How many validation prompts to draw (default all). */
  readonly sampleCount?: number;
  /** Class images from the base model for prior preservation, where the job uploaded fewer than it wants. */
  readonly generateImages?: GenerateImages;
}

/** Objects above this size are fetched in ranged parts, so a multi-GB UNet never sits in memory whole. */
const PART_BYTES = 64 * 1024 * 1024;

async function download(
  objects: ObjectStore,
  key: string,
  size: number,
  path: string,
  partBytes: number,
  expect?: { readonly etag: string },
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.partial-${process.pid}`;
  // Every ranged part is pinned to the same ETag, so a file is never stitched from two versions of an object.
  const fetch = async (range?: { start: number; end: number }) => {
    const body = await objects.get(key, range, expect);
    if (!body) throw new Error(`s3 object ${key} disappeared while downloading`);
    return body;
  };
  if (size <= partBytes) {
    await writeFile(temporary, await fetch());
  } else {
    await writeFile(temporary, new Uint8Array(0));
    for (let start = 0; start < size; start += partBytes) {
      const end = Math.min(size, start + partBytes) - 1;
      await writeFile(temporary, await fetch({ start, end }), { flag: 'a' });
    }
  }
  const written = (await stat(temporary)).size;
  if (written !== size) throw new Error(`s3 object ${key}: downloaded ${written} bytes, expected ${size}`);
  await rename(temporary, path);
}

/** Mirrors every object under `prefix` into `dir` (skipping files already there with the right size). */
export async function syncPrefix(
  objects: ObjectStore,
  prefix: string,
  dir: string,
  partBytes = PART_BYTES,
): Promise<number> {
  const root = resolve(dir);
  const listed = (await objects.list(prefix)).filter((o) => !o.key.endsWith('/'));
  for (const object of listed) {
    const path = resolve(root, object.key.slice(prefix.length));
    if (!path.startsWith(root + sep)) throw new Error(`s3 key ${object.key} escapes ${dir}`);
    const existing = await stat(path).catch(() => undefined);
    if (existing?.size === object.size) continue;
    await download(objects, object.key, object.size, path, partBytes);
  }
  return listed.length;
}

/** What submit accepted for the job: the validated manifest and the pinned images (absent on older records). */
export async function readAcceptedJob(
  jobs: Pick<JobStore, 'get'>,
  jobId: string,
): Promise<{ manifest: JobManifest; inputs?: JobInputs }> {
  const record = await jobs.get(jobId);
  if (!record) throw new Error(`job ${jobId} has no job record`);
  if (!record.manifest) throw new Error(`job ${jobId} has no validated manifest on its record`);
  return { manifest: record.manifest, ...(record.inputs ? { inputs: record.inputs } : {}) };
}

/**
 * Downloads exactly the pinned images into `dir` (extra objects uploaded since are not trained). An image
 * replaced or deleted since submit fails the job with an "inputs changed" reason naming it.
 */
export async function fetchPinnedImages(
  objects: ObjectStore,
  jobId: string,
  images: readonly PinnedImage[],
  dir: string,
  partBytes = PART_BYTES,
): Promise<void> {
  const root = resolve(dir);
  for (const image of images) {
    const name = imageNameFromKey(jobId, image.key);
    const path = resolve(root, name ?? '');
    if (name === undefined || !path.startsWith(root + sep))
      throw new Error(`pinned image key not allowed: ${image.key}`);
    try {
      const expect = image.etag === undefined ? undefined : { etag: image.etag };
      await download(objects, image.key, image.size, path, partBytes, expect);
    } catch (error) {
      if (error instanceof ObjectChangedError)
        throw new Error(inputsChangedReason(`image ${name} ${error.message.slice(error.key.length + 1)}`));
      if (error instanceof Error && /disappeared|downloaded \d+ bytes/.test(error.message))
        throw new Error(inputsChangedReason(`image ${name} changed after submit (${error.message})`));
      throw error;
    }
  }
}

export async function runTrainingJob(deps: TrainingJobDeps): Promise<JobRunResult> {
  const keys = jobKeys(deps.jobId);
  const log = deps.log ?? (() => {});
  const { manifest, inputs } = await readAcceptedJob(deps.jobs, deps.jobId);

  const pipelineDir = join(deps.modelCacheDir, manifest.baseModel);
  const files = await syncPrefix(deps.objects, modelPrefix(manifest.baseModel), pipelineDir);
  if (files === 0)
    throw new Error(`base model '${manifest.baseModel}' not found under ${modelPrefix(manifest.baseModel)}`);
  const imagesDir = join(deps.workDir, 'images');
  // Records from before inputs were pinned carry no image list: those jobs train what is listed now.
  if (inputs) await fetchPinnedImages(deps.objects, deps.jobId, inputs.images, imagesDir);
  else await syncPrefix(deps.objects, keys.imagesPrefix, imagesDir);
  const resolution = manifest.training.resolution ?? (await modelResolution(pipelineDir));
  const images = (await loadTrainingImages(imagesDir, resolution)).map((image) => ({
    data: image.pixels,
    channels: 3,
    height: image.resolution,
    width: image.resolution,
  }));
  log(`job ${deps.jobId}: ${images.length} image(s) at ${resolution}px on ${manifest.baseModel}`);
  // Uploaded class images (prior preservation) where the job has any; the trainer generates the rest.
  const classDir = join(deps.workDir, 'class');
  const classFiles =
    manifest.method === 'custom-diffusion' && manifest.customDiffusion.priorPreservation
      ? await syncPrefix(deps.objects, keys.classImagesPrefix, classDir)
      : 0;
  const classImages =
    classFiles > 0
      ? (await loadTrainingImages(classDir, resolution)).map((image) => ({
          data: image.pixels,
          channels: 3,
          height: image.resolution,
          width: image.resolution,
        }))
      : [];

  const result = await runJob(
    { manifest, pipelineDir, images, classImages },
    // The monitor decides from the samples and the trainer obeys the stop flag at a flush. The DynamoDB sink
    // writes behind, so a flush is cheap: flush (and read the flag) twice a second, which keeps the stop
    // latency ≤ 2% of the criterion step in bench/monitor-latency.ts (27/27 runs at --flush-interval 0.5).
    { flushEvery: 50, flushIntervalMs: 500 },
    {
      // Samples at or past the step this attempt starts from were written by a lost attempt after its last
      // checkpoint: dropped, so the monitor never sees (and never stops at) a step this run has not trained.
      openSink: async (fromStep) => {
        await deps.sink.discardFrom?.(fromStep);
        return deps.sink;
      },
      stopSignal: deps.stopSignal,
      store: deps.store,
      resume: true,
      loadModel: deps.loadModel,
      outputFacts: {
        job_id: deps.jobId,
        base_model: manifest.baseModel,
        criterion: manifest.stop.criterion,
        window: manifest.stop.window,
        threshold: manifest.stop.threshold,
      },
      onReady: ({ resumedFrom, lr, tokenLr }) =>
        log(
          `job ${deps.jobId}: ${manifest.method}, lr ${lr}${tokenLr === undefined ? '' : ` (token row ${tokenLr})`}, ` +
            `${resumedFrom === null ? 'fresh start' : `resuming at step ${resumedFrom}`}`,
        ),
      ...(deps.onCheckpoint
        ? {
            onCheckpoint: (_key: string, step: number) => {
              void deps
                .onCheckpoint?.(step)
                .catch((error: unknown) => log(`checkpoint note failed: ${String(error)}`));
            },
          }
        : {}),
      ...(deps.interrupted ? { interrupted: deps.interrupted } : {}),
      ...(deps.renderSamples ? { renderSamples: deps.renderSamples } : {}),
      ...(deps.sampleCount === undefined ? {} : { sampleCount: deps.sampleCount }),
      ...(deps.generateImages ? { generateImages: deps.generateImages } : {}),
      reportClassImages: true,
      log: (line) => log(`job ${deps.jobId}: ${line}`),
    },
  );
  if (result.sampleKeys.length > 0) {
    log(`job ${deps.jobId}: wrote ${result.sampleKeys.length} validation file(s) under output/samples/`);
  }
  return result;
}
