// A job on the embedded pipeline, driven the way a user drives the cloud: upload the images, then job.json
// (which triggers submit-job); watch the job record and its samples; download the outputs when it ends.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { dvarParamsOf, dvarRatio } from '../../shared/dvar.ts';
import { isHiddenFile } from '../../shared/hidden-files.ts';
import { isFinal, type JobRecord } from '../../shared/job-record.ts';
import { jobKeys, MODELS_PREFIX } from '../../shared/keys.ts';
import type { EmbeddedPipeline } from './embedded-pipeline.ts';

export interface LocalJobRequest {
  readonly jobId: string;
  /** A folder of images (its files, not subfolders). */
  readonly imagesDir: string;
  /** The job.json content (token, initializerToken, training, stop, …); baseModel is set from modelDir. */
  readonly manifest: Readonly<Record<string, unknown>>;
  /** A base model in the diffusers ONNX layout, uploaded to models/<folder name>/ first. */
  readonly modelDir?: string;
}

/** One progress observation. */
export interface LocalJobProgress {
  readonly status: JobRecord['status'];
  readonly step?: number;
  readonly detLoss?: number;
  readonly ratio?: number;
  readonly criterionStep?: number;
}

export async function submitLocalJob(pipeline: EmbeddedPipeline, request: LocalJobRequest): Promise<void> {
  const keys = jobKeys(request.jobId);
  const manifest = { ...request.manifest };
  if (request.modelDir) {
    const name = basename(request.modelDir);
    await pipeline.uploadFolder(request.modelDir, `${MODELS_PREFIX}${name}/`);
    manifest.baseModel = name;
  }
  const entries = await readdir(request.imagesDir, { withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && !isHiddenFile(e.name))
    .map((e) => e.name)
    .sort();
  if (files.length === 0) throw new Error(`no image files in ${request.imagesDir}`);
  for (const name of files) {
    await pipeline.stores.objects.put(
      `${keys.imagesPrefix}${name}`,
      await readFile(join(request.imagesDir, name)),
    );
  }
  // Last, as in the cloud: the manifest's ObjectCreated event starts the job.
  await pipeline.stores.objects.put(
    keys.manifest,
    new TextEncoder().encode(JSON.stringify(manifest)),
    'application/json',
  );
}

/** Polls the job until it is final and the monitor has finished, reporting progress on every change. */
export async function watchLocalJob(
  pipeline: EmbeddedPipeline,
  jobId: string,
  onProgress: (progress: LocalJobProgress) => void,
  pollMs = 1000,
): Promise<JobRecord> {
  let last = '';
  for (;;) {
    const record = await pipeline.stores.jobs.get(jobId);
    if (record) {
      const samples = await pipeline.stores.samples.read(jobId);
      const history = samples.flatMap((s) => (s.detLoss === undefined ? [] : [s.detLoss]));
      const latest = samples[samples.length - 1];
      const stop = record.manifest?.stop;
      const ratio = stop === undefined ? undefined : dvarRatio(history, dvarParamsOf(stop).window);
      const progress: LocalJobProgress = {
        status: record.status,
        ...(latest ? { step: latest.step } : {}),
        ...(history.length ? { detLoss: history[history.length - 1] } : {}),
        ...(ratio === undefined ? {} : { ratio }),
        ...(record.criterionStep === undefined ? {} : { criterionStep: record.criterionStep }),
      };
      const key = JSON.stringify(progress);
      if (key !== last) onProgress(progress);
      last = key;
      if (isFinal(record.status)) {
        await pipeline.idle();
        return (await pipeline.stores.jobs.get(jobId)) ?? record;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** Copies everything under jobs/<jobId>/output/ to outDir, keeping the relative layout. */
export async function downloadOutputs(
  pipeline: EmbeddedPipeline,
  jobId: string,
  outDir: string,
): Promise<string[]> {
  const prefix = jobKeys(jobId).outputPrefix;
  const written: string[] = [];
  for (const object of await pipeline.stores.objects.list(prefix)) {
    const bytes = await pipeline.stores.objects.get(object.key);
    if (!bytes) continue;
    const segments = object.key.slice(prefix.length).split('/');
    if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) continue;
    const path = join(outDir, ...segments);
    await mkdir(join(path, '..'), { recursive: true });
    await writeFile(path, bytes);
    written.push(path);
  }
  return written;
}
