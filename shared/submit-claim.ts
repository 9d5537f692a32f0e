// Taking a jobId before uploading a job, atomically: two `plateau submit --job-id x` at once cannot both upload
// images under jobs/x/. A conditional write of a reservation item decides (S3's `If-None-Match: *` on job.json would
// come too late — after the images — and s3rver ignores it on PUT); then the id must also be unused by jobs that
// were uploaded without a reservation (any S3 client), which have a record or a manifest.
import { jobKeys } from './keys.ts';
import type { ObjectStore } from './pipeline-ports.ts';

/** Reservations of jobIds: `reserve` succeeds for exactly one caller per jobId, ever. */
export interface JobReservations {
  /** True when this call took the id; false when it was already taken (by anyone, at any time). */
  reserve(jobId: string, reservedAt: Date): Promise<boolean>;
}

export interface SubmitClaimDeps {
  readonly reservations: JobReservations;
  readonly jobs: { get(jobId: string): Promise<unknown> };
  readonly objects: Pick<ObjectStore, 'head'>;
  readonly now: () => Date;
}

/** Takes the jobId for one upload; resolves with why not when it is taken (the caller must upload nothing then). */
export async function claimJobId(
  jobId: string,
  deps: SubmitClaimDeps,
): Promise<{ readonly claimed: true } | { readonly claimed: false; readonly reason: string }> {
  if (!(await deps.reservations.reserve(jobId, deps.now()))) {
    return { claimed: false, reason: `job '${jobId}' is taken: another submit reserved this id` };
  }
  // The reservation is ours, so no other plateau submit can get past here with this id; a job uploaded some other
  // way shows as a record or a manifest.
  if (
    (await deps.jobs.get(jobId)) !== undefined ||
    (await deps.objects.head(jobKeys(jobId).manifest)) !== undefined
  ) {
    return { claimed: false, reason: `job '${jobId}' already exists` };
  }
  return { claimed: true };
}
