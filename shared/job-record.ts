// The job record: one item per job in the table, the single source of truth for a job's status. The status
// machine below is enforced by JobStore's conditional updates, so out-of-order or replayed events cannot move
// a job backwards or out of a final state.
import { z } from 'zod';
import { JobInputs } from './job-inputs.ts';
import { JobManifest } from './manifest.ts';

export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'STOPPING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export const JobStatus = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatus>;

/** Why training stopped (or will stop). */
export const StopReason = z.enum(['criterion', 'max-steps', 'cancelled', 'failed']);
export type StopReason = z.infer<typeof StopReason>;

/** Allowed transitions; a status never changes to itself, and the three final statuses never change. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  QUEUED: ['RUNNING', 'STOPPING', 'SUCCEEDED', 'FAILED', 'CANCELLED'],
  RUNNING: ['STOPPING', 'SUCCEEDED', 'FAILED', 'CANCELLED'],
  STOPPING: ['SUCCEEDED', 'FAILED', 'CANCELLED'],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
};

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Statuses from which `to` is reachable in one step (the condition of a guarded update). */
export function sourcesOf(to: JobStatus): JobStatus[] {
  return JOB_STATUSES.filter((from) => canTransition(from, to));
}

export function isFinal(status: JobStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

const IsoTime = z.iso.datetime();

export const JobRecord = z.object({
  jobId: z.string(),
  status: JobStatus,
  createdAt: IsoTime,
  updatedAt: IsoTime,
  /** The validated manifest with every default filled in; absent when the manifest itself was invalid. */
  manifest: JobManifest.optional(),
  /** The images validated at submit (key, size, ETag): what the trainer trains, on every attempt. */
  inputs: JobInputs.optional(),
  /** AWS Batch job id, recorded once SubmitJob returned. */
  batchJobId: z.string().optional(),
  /** Step Functions execution ARN of the monitor. */
  executionArn: z.string().optional(),
  /** Until when (ms since epoch) one submit-job invocation owns the SubmitJob step; see submit-job. */
  submitLeaseUntilMs: z.number().optional(),
  /** The webhook delivery id finalize claimed (conditionally) before sending: a retried finalize sends no repeat. */
  webhookDeliveryId: z.string().optional(),
  stopRequested: z.boolean().default(false),
  stopReason: StopReason.optional(),
  stopRequestedAt: IsoTime.optional(),
  /** The step at which the criterion first held. */
  criterionStep: z.number().int().nonnegative().optional(),
  /** Trainer starts (1 + Spot reclaims / retries), as reported by Batch or the trainer. */
  attempts: z.number().int().nonnegative().default(0),
  lastCheckpointStep: z.number().int().nonnegative().optional(),
  /** The last step the trainer trained (recorded by finalize from the samples). */
  lastStep: z.number().int().nonnegative().optional(),
  startedAt: IsoTime.optional(),
  finishedAt: IsoTime.optional(),
  gpuSeconds: z.number().nonnegative().optional(),
  /** Bucket keys of the outputs, set by finalize. */
  artifacts: z.array(z.string()).optional(),
  /** When finalize published the completion event (so a retried finalize publishes at least once, not twice). */
  notifiedAt: IsoTime.optional(),
  /** Why the job failed (or a note on a cancelled job). Cleared when a trainer attempt starts. */
  error: z.string().max(4000).optional(),
  /**
   * 1-based place in the embedded runner's queue while the job waits for a trainer slot (infra/embedded/
   * local-batch.ts); absent once its trainer starts, and always in the cloud (Batch reports no position).
   */
  queuePosition: z.number().int().positive().optional(),
});
export type JobRecord = z.infer<typeof JobRecord>;
export type JobRecordInput = z.input<typeof JobRecord>;

/** Fields a guarded update may set (never jobId, status or createdAt directly). */
export type JobRecordPatch = Partial<Omit<JobRecord, 'jobId' | 'status' | 'createdAt' | 'updatedAt'>>;

/** Optional fields a guarded update may remove: an earlier attempt's error, a queue position left behind. */
export type ClearableField = 'error' | 'queuePosition';

/** Persistence of job records with the guarantees the pipeline's idempotency rests on. */
export interface JobStore {
  get(jobId: string): Promise<JobRecord | undefined>;
  /** Creates the record only if none exists; returns false (and changes nothing) when one does. */
  create(record: JobRecord): Promise<boolean>;
  /**
   * Sets the patch (and `to`, when given) only if the record exists and its status is one of `from`;
   * `when` adds a condition on the current record (evaluated atomically by the store); `clear` removes fields
   * in the same write. Returns the updated record, or undefined when a condition failed.
   */
  update(jobId: string, change: JobChange): Promise<JobRecord | undefined>;
}

/** One guarded update of a job record (JobStore.update). */
export interface JobChange {
  readonly from: readonly JobStatus[];
  readonly to?: JobStatus;
  readonly patch?: JobRecordPatch;
  readonly when?: JobCondition;
  readonly clear?: readonly ClearableField[];
}

/**
 * Jobs whose submission may never have completed (the reconciler's input): QUEUED records still missing their
 * Batch job id or monitor execution.
 */
export interface UnsettledJobs {
  listUnsettled(): Promise<JobRecord[]>;
}

/** Extra atomic conditions a JobStore update supports (kept small so every store implements them exactly). */
export type JobCondition =
  | {
      readonly kind: 'absent';
      readonly field: 'batchJobId' | 'executionArn' | 'stopReason' | 'webhookDeliveryId';
    }
  | { readonly kind: 'leaseFree'; readonly nowMs: number };

/** Reads a condition against a record: what in-memory stores use and what DynamoDB's expression encodes. */
export function conditionHolds(record: JobRecord, condition: JobCondition | undefined): boolean {
  if (!condition) return true;
  if (condition.kind === 'absent') return record[condition.field] === undefined;
  return record.batchJobId === undefined && (record.submitLeaseUntilMs ?? 0) < condition.nowMs;
}

/** Applies a transition and patch to a record in memory (the same result the store produces). */
export function applyUpdate(
  record: JobRecord,
  to: JobStatus | undefined,
  patch: JobRecordPatch,
  now: Date,
  clear: readonly ClearableField[] = [],
): JobRecord {
  const next: Record<string, unknown> = {
    ...record,
    ...patch,
    status: to ?? record.status,
    updatedAt: now.toISOString(),
  };
  for (const field of clear) delete next[field];
  return JobRecord.parse(next);
}

/**
 * Cancels a job the way the monitor stops one: flags the record (reason `cancelled`) and moves it to STOPPING;
 * the trainer stops at its next flush and finalize ends the job CANCELLED with the last step's artifacts.
 * Returns undefined when the job is unknown, already final, or already stopping for another reason.
 */
export function requestCancel(jobs: JobStore, jobId: string, now: Date): Promise<JobRecord | undefined> {
  return jobs.update(jobId, {
    from: ['QUEUED', 'RUNNING'],
    to: 'STOPPING',
    patch: { stopRequested: true, stopReason: 'cancelled', stopRequestedAt: now.toISOString() },
    when: { kind: 'absent', field: 'stopReason' },
  });
}

/**
 * For the trainer as each attempt starts: QUEUED → RUNNING at once, so the status is true from the first sample
 * instead of waiting for the monitor's next poll (which also moves it, from Batch's status; whichever comes first
 * wins). Every attempt also clears what an earlier one left: its error (a retried attempt that succeeds must not
 * carry it to a SUCCEEDED record, and one that fails records its own) and a queue position.
 */
export async function markTrainerStarted(
  jobs: JobStore,
  jobId: string,
  now: Date,
): Promise<JobRecord | undefined> {
  const clear: ClearableField[] = ['error', 'queuePosition'];
  const first = await jobs.update(jobId, {
    from: ['QUEUED'],
    to: 'RUNNING',
    patch: { startedAt: now.toISOString() },
    clear,
  });
  return first ?? jobs.update(jobId, { from: ['RUNNING', 'STOPPING'], clear });
}

/**
 * For the trainer before it exits non-zero: puts the reason on the record (status unchanged), so the monitor's
 * `failed` decision and the FAILED job carry it instead of Batch's generic "Essential container exited".
 */
export function recordTrainerError(
  jobs: JobStore,
  jobId: string,
  message: string,
): Promise<JobRecord | undefined> {
  return jobs.update(jobId, {
    from: ['QUEUED', 'RUNNING', 'STOPPING'],
    patch: { error: message.slice(0, 4000) },
  });
}

/**
 * The monitor's criterion stop, flagged by evaluate-stop the moment it is decided (request-stop then repeats
 * it idempotently): moves the job to STOPPING with reason `criterion` and the criterion step. A cancel that
 * flagged the record first keeps its reason (undefined is returned then).
 */
export function requestCriterionStop(
  jobs: JobStore,
  jobId: string,
  criterionStep: number,
  now: Date,
): Promise<JobRecord | undefined> {
  return jobs.update(jobId, {
    from: ['QUEUED', 'RUNNING'],
    to: 'STOPPING',
    patch: {
      stopRequested: true,
      stopReason: 'criterion',
      stopRequestedAt: now.toISOString(),
      criterionStep,
    },
    when: { kind: 'absent', field: 'stopReason' },
  });
}
