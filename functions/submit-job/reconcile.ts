// The reconciler, run on a schedule by the submit-job Lambda: a submission that crashed after taking its lease
// (S3 delivers the event once; Lambda's retries fall inside the lease) is finished here once the lease expires,
// so every accepted job reaches one Batch job and one monitor, or FAILED with the reason it could not.
import type { UnsettledJobs } from '../../shared/job-record.ts';
import { advance, fail, type SubmitJobDeps, type SubmitOutcome } from './submit-job.ts';

/** After this long unsettled, a job whose submission still throws is failed instead of retried again. */
export const RECONCILE_GIVE_UP_MS = 60 * 60 * 1000;

/** The EventBridge schedule's event (`source: aws.events`, `detail-type: Scheduled Event`). */
export function isScheduledEvent(event: unknown): boolean {
  if (typeof event !== 'object' || event === null) return false;
  const fields = event as Record<string, unknown>;
  return fields.source === 'aws.events' && fields['detail-type'] === 'Scheduled Event';
}

export async function reconcileJobs(unsettled: UnsettledJobs, deps: SubmitJobDeps): Promise<SubmitOutcome[]> {
  const outcomes: SubmitOutcome[] = [];
  for (const record of await unsettled.listUnsettled()) {
    const nowMs = deps.clock.now().getTime();
    const ageMs = nowMs - Date.parse(record.createdAt);
    let outcome: SubmitOutcome;
    try {
      // advance() takes the lease itself, so an invocation still working on the job is left alone.
      outcome = await advance(record, deps);
    } catch (error) {
      const reason = `submission did not complete: ${(error as Error).message}`;
      outcome =
        ageMs > RECONCILE_GIVE_UP_MS
          ? await fail(record.jobId, reason, deps)
          : { outcome: 'in-progress', jobId: record.jobId };
      deps.log?.('reconcile: submission step threw', { jobId: record.jobId, reason });
    }
    deps.log?.('reconcile', { ...outcome });
    outcomes.push(outcome);
  }
  return outcomes;
}
