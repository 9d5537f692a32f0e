// One look at a job: its record and its loss samples summed up (status, last step, DVAR ratio so far, outcome).
// What `plateau status`/`watch` print and what the web console lists: one reading of the job, no second source.
import { dvarRatio } from './dvar.ts';
import type { JobRecord, JobStore } from './job-record.ts';
import type { LossSample } from './ports.ts';
import type { SampleReader } from './samples.ts';

export interface JobSummary {
  readonly jobId: string;
  readonly status: JobRecord['status'];
  /** The job's method (textual-inversion, dreambooth-lora, …). */
  readonly method?: string;
  /** The last step with a stored sample. */
  readonly step?: number;
  readonly detLoss?: number;
  /** var(last W) / var(all) over the deterministic losses so far (W from the manifest). */
  readonly ratio?: number;
  readonly threshold?: number;
  readonly criterionStep?: number;
  readonly lastStep?: number;
  readonly stopReason?: string;
  readonly error?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly artifacts?: readonly string[];
}

/** The record and samples summed up (pure: the caller reads them once and may reuse the samples). */
export function summarize(record: JobRecord, samples: readonly LossSample[]): JobSummary {
  const history = samples.flatMap((s) => (s.detLoss === undefined ? [] : [s.detLoss]));
  const latest = samples[samples.length - 1];
  const stop = record.manifest?.stop;
  const ratio = stop?.criterion === 'dvar' ? dvarRatio(history, stop.window) : undefined;
  const optional = <K extends keyof JobSummary>(key: K, value: JobSummary[K] | undefined) =>
    value === undefined ? {} : { [key]: value };
  return {
    jobId: record.jobId,
    status: record.status,
    ...optional('method', record.manifest?.method),
    ...optional('step', latest?.step),
    ...optional('detLoss', history[history.length - 1]),
    ...optional('ratio', ratio),
    ...optional('threshold', stop?.criterion === 'dvar' ? stop.threshold : undefined),
    ...optional('criterionStep', record.criterionStep),
    ...optional('lastStep', record.lastStep),
    ...optional('stopReason', record.stopReason),
    ...optional('error', record.error),
    ...optional('startedAt', record.startedAt),
    ...optional('finishedAt', record.finishedAt),
    ...optional('artifacts', record.artifacts),
  };
}

/** The job's record and samples, summed up; undefined for an unknown job. */
export async function summarizeJob(
  stores: { readonly jobs: JobStore; readonly samples: SampleReader },
  jobId: string,
): Promise<JobSummary | undefined> {
  const record = await stores.jobs.get(jobId);
  if (!record) return undefined;
  return summarize(record, await stores.samples.read(jobId));
}
