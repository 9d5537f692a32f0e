// The one DynamoDB table's layout: key attribute names, the item keys of job records and loss samples, and
// the TTL attribute. infra/ creates the table from these names; the adapters in shared/aws/ build keys here.

/** Partition key (string): `JOB#<jobId>` for every item of one job, so one Query reads a job's samples. */
export const PARTITION_KEY = 'pk';
/** Sort key (string): `RECORD` for the job record, `SAMPLE#<step, 10 digits>` for loss samples, `RESERVATION`. */
export const SORT_KEY = 'sk';
/** Number attribute, epoch seconds, set on samples only: DynamoDB's TTL deletes them after it. */
export const TTL_ATTRIBUTE = 'expiresAt';

export const RECORD_SORT_KEY = 'RECORD';
/** A jobId taken by `plateau submit` before it uploads anything (shared/submit-claim.ts); never deleted. */
export const RESERVATION_SORT_KEY = 'RESERVATION';
export const SAMPLE_SORT_PREFIX = 'SAMPLE#';
const STEP_DIGITS = 10;

export function jobPartitionKey(jobId: string): string {
  return `JOB#${jobId}`;
}

/** Zero-padded so the sort key orders samples by step; the same step always maps to the same item. */
export function sampleSortKey(step: number): string {
  if (!Number.isInteger(step) || step < 0 || step >= 10 ** STEP_DIGITS)
    throw new RangeError(`bad step ${step}`);
  return `${SAMPLE_SORT_PREFIX}${String(step).padStart(STEP_DIGITS, '0')}`;
}
