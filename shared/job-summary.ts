// One look at a job: its record and its loss samples summed up (status, last step, DVAR ratio so far, outcome).
// What `plateau status`/`watch` print and what the web console lists: one reading of the job, no second source.
import { dvarParamsOf, dvarRatio } from './dvar.ts';
import type { JobRecord, JobStore } from './job-record.ts';
import { jobKeys } from './keys.ts';
import type { ObjectStore } from './pipeline-ports.ts';
import type { LossSample } from './ports.ts';
import { Report } from './report.ts';
import type { SampleReader } from './samples.ts';
import { formatSavings } from './savings.ts';

export interface JobSummary {
  readonly jobId: string;
  readonly status: JobRecord['status'];
  /** While QUEUED in the embedded runner's queue: 1 = the next to start. */
  readonly queuePosition?: number;
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
  /** A finished job's saving against the fixed budget, one line from its report.json (when objects were given). */
  readonly savings?: string;
}

/** The record and samples summed up (pure: the caller reads them once and may reuse the samples). */
export function summarize(record: JobRecord, samples: readonly LossSample[]): JobSummary {
  const history = samples.flatMap((s) => (s.detLoss === undefined ? [] : [s.detLoss]));
  const latest = samples[samples.length - 1];
  const stop = record.manifest?.stop;
  const ratio = stop?.criterion === 'dvar' ? dvarRatio(history, dvarParamsOf(stop).window) : undefined;
  const optional = <K extends keyof JobSummary>(key: K, value: JobSummary[K] | undefined) =>
    value === undefined ? {} : { [key]: value };
  return {
    jobId: record.jobId,
    status: record.status,
    ...optional('queuePosition', record.status === 'QUEUED' ? record.queuePosition : undefined),
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

/** The saving line of a finished job's report.json; undefined while running, after a failure, or unreadable. */
async function savingsOf(objects: Pick<ObjectStore, 'get'>, record: JobRecord): Promise<string | undefined> {
  const key = jobKeys(record.jobId).report;
  if (!record.artifacts?.includes(key)) return undefined;
  const bytes = await objects.get(key);
  if (!bytes) return undefined;
  try {
    const report = Report.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    if (!report.success || !report.data.savings) return undefined;
    return formatSavings(report.data.savings, report.data.cost.gpuHourPriceUsd);
  } catch {
    return undefined;
  }
}

/** The job's record and samples, summed up (with the saving line when `objects` is given); undefined if unknown. */
export async function summarizeJob(
  stores: {
    readonly jobs: JobStore;
    readonly samples: SampleReader;
    readonly objects?: Pick<ObjectStore, 'get'>;
  },
  jobId: string,
): Promise<JobSummary | undefined> {
  const record = await stores.jobs.get(jobId);
  if (!record) return undefined;
  const summary = summarize(record, await stores.samples.read(jobId));
  const savings = stores.objects ? await savingsOf(stores.objects, record) : undefined;
  return savings === undefined ? summary : { ...summary, savings };
}
