// submit-job: an uploaded job.json becomes a job. Validates the manifest and images, creates the job record
// (conditional put), submits the Batch job, starts the monitor named after the jobId and records both ids.
// Every step is guarded by the record, so a duplicate or replayed event changes nothing.

import { ENV } from '../../shared/env.ts';
import { parseUploadEvent } from '../../shared/events.ts';
import { isHiddenFile } from '../../shared/hidden-files.ts';
import { ImageHeaderError, readImageHeader } from '../../shared/image-header.ts';
import type { JobInputs, PinnedImage } from '../../shared/job-inputs.ts';
import { isFinal, type JobRecord, type JobStore, sourcesOf } from '../../shared/job-record.ts';
import {
  decodeEventKey,
  imageNameFromKey,
  jobIdFromManifestKey,
  jobKeys,
  modelPrefix,
} from '../../shared/keys.ts';
import { type JobManifest, parseManifest } from '../../shared/manifest.ts';
import type { MonitorState } from '../../shared/monitor-contract.ts';
import type {
  BatchJobs,
  BatchSubmitRequest,
  Clock,
  MonitorStarter,
  ObjectStore,
} from '../../shared/pipeline-ports.ts';

export const IMAGE_LIMITS = {
  minCount: 1,
  maxCount: 50,
  maxBytes: 20 * 1024 * 1024,
  maxTotalBytes: 200 * 1024 * 1024,
} as const;
/** How long one invocation owns the SubmitJob step; longer than the Lambda timeout, so a crash frees it. */
export const SUBMIT_LEASE_MS = 5 * 60 * 1000;
/** Slack for clocks when matching Batch jobs created after the record (Batch's clock against the Lambda's). */
const ORPHAN_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The Batch job's name: one per jobId, so a retried submission can find what an earlier attempt submitted. */
export function batchJobName(jobId: string): string {
  return `plateau-${jobId}`;
}

export interface SubmitJobConfig {
  readonly bucket: string;
  readonly table: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
  /** Extra per-job environment for the trainer (e.g. the sample TTL). */
  readonly trainerEnvironment?: Readonly<Record<string, string>>;
}

export interface SubmitJobDeps {
  readonly objects: ObjectStore;
  readonly jobs: JobStore;
  readonly batch: BatchJobs;
  readonly monitor: MonitorStarter;
  readonly clock: Clock;
  readonly config: SubmitJobConfig;
  readonly log?: (message: string, fields?: Record<string, unknown>) => void;
}

export type SubmitOutcome =
  | { readonly outcome: 'ignored'; readonly reason: string }
  | { readonly outcome: 'failed'; readonly jobId: string; readonly reason: string }
  | { readonly outcome: 'duplicate' | 'in-progress'; readonly jobId: string }
  | {
      readonly outcome: 'submitted';
      readonly jobId: string;
      readonly batchJobId: string;
      readonly executionArn: string;
    };

/** The handler's body: parses the event at the edge, then handles each uploaded manifest in turn. */
export function makeSubmitJobHandler(deps: SubmitJobDeps) {
  return async (event: unknown): Promise<SubmitOutcome[]> => {
    const outcomes: SubmitOutcome[] = [];
    for (const upload of parseUploadEvent(event)) {
      const outcome =
        upload.bucket === deps.config.bucket
          ? await submitJob(upload.rawKey, deps)
          : ({ outcome: 'ignored', reason: `event for another bucket (${upload.bucket})` } as const);
      deps.log?.('submit-job', { ...outcome });
      outcomes.push(outcome);
    }
    return outcomes;
  };
}

export async function submitJob(rawKey: string, deps: SubmitJobDeps): Promise<SubmitOutcome> {
  const key = decodeEventKey(rawKey);
  const jobId = key === undefined ? undefined : jobIdFromManifestKey(key);
  if (jobId === undefined) {
    return { outcome: 'ignored', reason: `not a job manifest key: ${JSON.stringify(rawKey.slice(0, 200))}` };
  }
  let record = await deps.jobs.get(jobId);
  if (!record) {
    const now = deps.clock.now().toISOString();
    const validated = await validateJob(jobId, deps.objects).then(
      ({ manifest, inputs }) => ({ manifest, inputs, error: undefined }),
      (error: unknown) => ({ manifest: undefined, inputs: undefined, error: (error as Error).message }),
    );
    const fresh: JobRecord = {
      jobId,
      status: validated.manifest ? 'QUEUED' : 'FAILED',
      createdAt: now,
      updatedAt: now,
      manifest: validated.manifest,
      inputs: validated.inputs,
      stopRequested: false,
      attempts: 0,
      ...(validated.error ? { error: validated.error, finishedAt: now, stopReason: 'failed' as const } : {}),
    };
    if (await deps.jobs.create(fresh)) {
      if (validated.error !== undefined) return { outcome: 'failed', jobId, reason: validated.error };
      record = fresh;
    } else {
      record = await deps.jobs.get(jobId);
      if (!record) throw new Error(`job ${jobId}: record vanished after a conflicting create`);
    }
  }
  return advance(record, deps);
}

/** Takes an existing record through the remaining steps (submit, start, record), skipping those done. */
export async function advance(initial: JobRecord, deps: SubmitJobDeps): Promise<SubmitOutcome> {
  let record = initial;
  const jobId = record.jobId;
  if (isFinal(record.status) || (record.batchJobId && record.executionArn))
    return { outcome: 'duplicate', jobId };

  if (!record.batchJobId) {
    // A lease taken before means an earlier invocation got as far as SubmitJob and may have died after it.
    const retry = record.submitLeaseUntilMs !== undefined;
    const nowMs = deps.clock.now().getTime();
    const claimed = await deps.jobs.update(jobId, {
      from: ['QUEUED'],
      patch: { submitLeaseUntilMs: nowMs + SUBMIT_LEASE_MS },
      when: { kind: 'leaseFree', nowMs },
    });
    if (!claimed) return { outcome: 'in-progress', jobId };
    let batchJobId: string;
    const orphan = retry ? await adoptOrphan(record, deps) : undefined;
    try {
      ({ batchJobId } = orphan ?? (await deps.batch.submit(batchRequest(jobId, deps.config))));
    } catch (error) {
      return fail(jobId, `Batch SubmitJob failed: ${(error as Error).message}`, deps);
    }
    const recorded = await deps.jobs.update(jobId, {
      from: ['QUEUED', 'RUNNING', 'STOPPING'],
      patch: { batchJobId },
      when: { kind: 'absent', field: 'batchJobId' },
    });
    if (!recorded) {
      // The job was failed or cancelled while we submitted: this Batch job must not run.
      await deps.batch.terminate(batchJobId, 'job record changed during submission').catch(() => undefined);
      return { outcome: 'duplicate', jobId };
    }
    record = recorded;
  }

  if (!record.executionArn) {
    const input: MonitorState = { jobId, stopRequested: false };
    let executionArn: string;
    try {
      ({ executionArn } = await deps.monitor.start(jobId, input));
    } catch (error) {
      const reason = `StartExecution failed: ${(error as Error).message}`;
      if (record.batchJobId) await deps.batch.terminate(record.batchJobId, reason).catch(() => undefined);
      return fail(jobId, reason, deps);
    }
    const recorded = await deps.jobs.update(jobId, {
      from: ['QUEUED', 'RUNNING', 'STOPPING'],
      patch: { executionArn },
      when: { kind: 'absent', field: 'executionArn' },
    });
    // Another invocation recorded the monitor first: the execution name is the job's, so StartExecution gave
    // both the same one, and that invocation reports the submission.
    if (!recorded) return { outcome: 'duplicate', jobId };
    return { outcome: 'submitted', jobId, batchJobId: recorded.batchJobId ?? '', executionArn };
  }
  return { outcome: 'duplicate', jobId };
}

/** The SubmitJob request of a job's trainer: its name, queue, definition and per-job environment. */
export function batchRequest(jobId: string, config: SubmitJobConfig): BatchSubmitRequest {
  return {
    jobName: batchJobName(jobId),
    jobQueue: config.jobQueue,
    jobDefinition: config.jobDefinition,
    environment: {
      ...config.trainerEnvironment,
      [ENV.JOB_ID]: jobId,
      [ENV.BUCKET]: config.bucket,
      [ENV.TABLE]: config.table,
    },
  };
}

/**
 * The Batch job an earlier attempt submitted but did not record (it died in between), found by its name; any
 * further namesakes are duplicates and are terminated. A failed lookup throws: better a later retry (the
 * reconciler's) than a second trainer.
 */
async function adoptOrphan(
  record: JobRecord,
  deps: SubmitJobDeps,
): Promise<{ batchJobId: string } | undefined> {
  if (!deps.batch.findByName) return undefined;
  const since = Date.parse(record.createdAt) - ORPHAN_CLOCK_SKEW_MS;
  const [first, ...extra] = await deps.batch.findByName(
    deps.config.jobQueue,
    batchJobName(record.jobId),
    since,
  );
  for (const id of extra) {
    await deps.batch.terminate(id, `duplicate submission of job ${record.jobId}`).catch(() => undefined);
  }
  if (first !== undefined)
    deps.log?.('submit-job: adopting the Batch job of an earlier attempt', {
      jobId: record.jobId,
      batchJobId: first,
    });
  return first === undefined ? undefined : { batchJobId: first };
}

export async function fail(jobId: string, reason: string, deps: SubmitJobDeps): Promise<SubmitOutcome> {
  const now = deps.clock.now().toISOString();
  await deps.jobs.update(jobId, {
    from: sourcesOf('FAILED'),
    to: 'FAILED',
    patch: { error: reason, stopReason: 'failed', finishedAt: now },
  });
  return { outcome: 'failed', jobId, reason };
}

/**
 * Reads and checks the manifest, the base model and the images; throws an Error whose message is the reason.
 * Returns what the record pins: the parsed manifest and the images with their ETags.
 */
export async function validateJob(
  jobId: string,
  objects: ObjectStore,
): Promise<{ manifest: JobManifest; inputs: JobInputs }> {
  const keys = jobKeys(jobId);
  const bytes = await objects.get(keys.manifest);
  if (!bytes) throw new Error(`${keys.manifest} does not exist`);
  const manifest = parseManifest(bytes);
  const prefix = modelPrefix(manifest.baseModel);
  const modelIndex = `${prefix}model_index.json`;
  // Listed, not HEADed: a role whose ListBucket is limited by prefix gets 403 for a missing key, not 404.
  if (!(await objects.list(prefix)).some((object) => object.key === modelIndex)) {
    throw new Error(`base model "${manifest.baseModel}" not found (no ${modelIndex} in the bucket)`);
  }
  const images = await validateImages(jobId, objects);
  return { manifest, inputs: { images } };
}

export async function validateImages(jobId: string, objects: ObjectStore): Promise<PinnedImage[]> {
  const prefix = jobKeys(jobId).imagesPrefix;
  // A zero-byte key ending in "/" is a folder marker some clients create, not an image; hidden files (.DS_Store,
  // __MACOSX/…) are skipped here and by the trainer alike (shared/hidden-files.ts).
  const listed = (await objects.list(prefix)).filter(
    (o) => !(o.key.endsWith('/') && o.size === 0) && !isHiddenFile(o.key.slice(prefix.length)),
  );
  const { minCount, maxCount, maxBytes, maxTotalBytes } = IMAGE_LIMITS;
  if (listed.length < minCount || listed.length > maxCount) {
    throw new Error(`expected ${minCount}–${maxCount} images under ${prefix}, found ${listed.length}`);
  }
  let total = 0;
  for (const object of listed) {
    const name = imageNameFromKey(jobId, object.key);
    if (name === undefined)
      throw new Error(`image key not allowed: ${JSON.stringify(object.key.slice(0, 200))}`);
    if (object.size > maxBytes)
      throw new Error(`image ${name} is ${object.size} bytes; the limit is ${maxBytes}`);
    total += object.size;
  }
  if (total > maxTotalBytes) throw new Error(`images total ${total} bytes; the limit is ${maxTotalBytes}`);
  for (const object of listed) {
    // Pinned to the listed ETag, so the bytes checked belong to the object the record pins.
    const expect = object.etag === undefined ? undefined : { etag: object.etag };
    const read = async (start: number, end: number) => {
      const bytes = await objects.get(object.key, { start, end }, expect);
      if (!bytes) throw new ImageHeaderError('was deleted while it was being checked');
      return bytes;
    };
    try {
      // Headers only (no decode): the type, the declared size against the pixel limit, and a cut-off end.
      await readImageHeader(object.size, read);
    } catch (error) {
      if (!(error instanceof ImageHeaderError)) throw error;
      throw new Error(`image ${object.key.slice(prefix.length)} ${error.message}`);
    }
  }
  return listed.map((o) => ({ key: o.key, size: o.size, ...(o.etag === undefined ? {} : { etag: o.etag }) }));
}
