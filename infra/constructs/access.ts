// What each consumer of the bucket and the table may do, read off the calls its code makes (shared/aws/ adapters):
// the least-privilege grants the stack wires with JobBucket.bind and JobTable.bind, kept in one place.
import { CHECKPOINTS_DIR, JOB_DIRS, JOBS_PREFIX, MODELS_PREFIX } from '../../shared/keys.ts';

/** Object key patterns (IAM wildcards, relative to the bucket) a consumer may read (Get/Head/List) and write. */
export interface ObjectAccess {
  readonly read: readonly string[];
  /** Prefixes it may only list (key names, not contents), beyond those it reads. */
  readonly list?: readonly string[];
  readonly write: readonly string[];
}

/** The DynamoDB data-plane actions a consumer may call on the table. */
export type TableAction = 'GetItem' | 'Query' | 'Scan' | 'PutItem' | 'UpdateItem' | 'BatchWriteItem';

const underEveryJob = (dir: string) => `${JOBS_PREFIX}*/${dir}*`;
const inputs = underEveryJob(JOB_DIRS.input);
const outputs = underEveryJob(JOB_DIRS.output);
const checkpoints = underEveryJob(CHECKPOINTS_DIR);
const classCache = underEveryJob(JOB_DIRS.classImageCache);
const models = `${MODELS_PREFIX}*`;

/**
 * Per job is not expressible here: every Batch job runs as the same job role and Batch passes no per-job session
 * tags, so `jobs/<jobId>/` cannot appear in the policy. The tightest honest bound is by folder: the trainer reads
 * inputs, its checkpoints and class-image cache, and models; it writes checkpoints, the cache and outputs, and can
 * neither change any job's inputs nor read any job's outputs.
 */
export const OBJECT_ACCESS = {
  trainer: { read: [inputs, checkpoints, classCache, models], write: [checkpoints, classCache, outputs] },
  /** Validates job.json, the images and the base model's index. */
  submitJob: { read: [inputs, models], write: [] },
  /** Reads the trainer's report and outputs, lists checkpoints (the steps trained), writes report.json and loss.svg. */
  finalize: { read: [outputs], list: [checkpoints], write: [outputs] },
} as const satisfies Record<string, ObjectAccess>;

export const TABLE_ACCESS = {
  /** The record (get, guarded updates), samples (batch writes; a resume queries and deletes its stale ones). */
  trainer: ['GetItem', 'UpdateItem', 'Query', 'BatchWriteItem'],
  /** Creates the record (conditional put), guarded updates, and the reconciler's scan for unsettled jobs. */
  submitJob: ['GetItem', 'PutItem', 'UpdateItem', 'Scan'],
  /** The record and the samples; flags the criterion stop and marks the job running. */
  evaluateStop: ['GetItem', 'Query', 'UpdateItem'],
  /** Confirms the stop flag on the record. */
  requestStop: ['GetItem', 'UpdateItem'],
  /** The record and the samples; the final status, the notified mark and the webhook delivery id. */
  finalize: ['GetItem', 'Query', 'UpdateItem'],
} as const satisfies Record<string, readonly TableAction[]>;
