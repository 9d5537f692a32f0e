// `plateau status <jobId>`: one look at a job on a stack (embedded or deployed) — status, the last step, the
// deterministic loss and DVAR ratio so far, the criterion step, the stop reason or error, and the outputs.
import { parseArgs } from 'node:util';
import { dvarRatio } from '../../shared/dvar.ts';
import type { JobRecord } from '../../shared/job-record.ts';
import { isValidJobId, jobKeys } from '../../shared/keys.ts';
import { Report } from '../../shared/report.ts';
import { formatSavings } from '../../shared/savings.ts';
import { type Command, UsageError } from '../command.ts';
import type { OpenStack } from './open-stack.ts';
import { resolveStackTarget, STACK_OPTIONS, STACK_USAGE, type StackTarget } from './stack-target.ts';

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
  /** A finished job's saving against the fixed budget, one line (from its report.json). */
  readonly savings?: string;
}

/** The saving line of a finished job's report.json; undefined while running, after a failure, or unreadable. */
async function savingsOf(stack: OpenStack, record: JobRecord): Promise<string | undefined> {
  const key = jobKeys(record.jobId).report;
  if (!record.artifacts?.includes(key)) return undefined;
  const bytes = await stack.objects.get(key);
  if (!bytes) return undefined;
  try {
    const report = Report.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return report.success ? formatSavings(report.data.savings, report.data.cost.gpuHourPriceUsd) : undefined;
  } catch {
    return undefined;
  }
}

/** The job's record and samples, summed up; undefined for an unknown job. */
export async function summarizeJob(stack: OpenStack, jobId: string): Promise<JobSummary | undefined> {
  const record = await stack.jobs.get(jobId);
  if (!record) return undefined;
  const samples = await stack.samples.read(jobId);
  const history = samples.flatMap((s) => (s.detLoss === undefined ? [] : [s.detLoss]));
  const latest = samples[samples.length - 1];
  const stop = record.manifest?.stop;
  const ratio = stop?.criterion === 'dvar' ? dvarRatio(history, stop.window) : undefined;
  const optional = <K extends keyof JobSummary>(key: K, value: JobSummary[K] | undefined) =>
    value === undefined ? {} : { [key]: value };
  return {
    jobId,
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
    ...optional('savings', await savingsOf(stack, record)),
  };
}

/** One line: what the progress views print. */
export function formatProgress(summary: JobSummary): string {
  const parts = [`${summary.jobId}  ${summary.status.padEnd(9)}`];
  if (summary.step !== undefined) parts.push(`step ${summary.step}`);
  if (summary.detLoss !== undefined) parts.push(`det loss ${summary.detLoss.toPrecision(4)}`);
  if (summary.ratio !== undefined) {
    parts.push(
      `DVAR ratio ${summary.ratio.toFixed(3)}${summary.threshold ? ` (stops < ${summary.threshold})` : ''}`,
    );
  }
  if (summary.criterionStep !== undefined) parts.push(`criterion at step ${summary.criterionStep}`);
  if (summary.stopReason && summary.status !== 'RUNNING') parts.push(`reason ${summary.stopReason}`);
  return parts.join('  ');
}

/** The full human view of `plateau status`. */
export function formatSummary(summary: JobSummary, target: StackTarget): string {
  const lines = [formatProgress(summary)];
  if (summary.method) lines.push(`  method: ${summary.method}`);
  if (summary.lastStep !== undefined) lines.push(`  last step trained: ${summary.lastStep}`);
  if (summary.startedAt) lines.push(`  started: ${summary.startedAt}`);
  if (summary.finishedAt) lines.push(`  finished: ${summary.finishedAt}`);
  if (summary.savings) lines.push(`  ${summary.savings}`);
  if (summary.error) lines.push(`  error: ${summary.error}`);
  for (const key of summary.artifacts ?? []) lines.push(`  output: s3://${target.bucket}/${key}`);
  return `${lines.join('\n')}\n`;
}

/** Parses `<jobId>` plus the stack options and `extra`; returns the positional job id and the values. */
export function parseJobArgs<E extends Record<string, { type: 'string' | 'boolean' }>>(
  args: readonly string[],
  extra: E,
) {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...STACK_OPTIONS, ...extra },
      strict: true,
      allowPositionals: true,
    }) as typeof parsed;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const [jobId, ...more] = parsed.positionals;
  if (jobId === undefined) throw new UsageError('a <jobId> is required');
  if (more.length > 0) throw new UsageError(`one <jobId> only (got also '${more[0]}')`);
  if (!isValidJobId(jobId)) throw new UsageError(`'${jobId}' is not a job id`);
  return { jobId, values: parsed.values };
}

export const statusCommand: Command = {
  name: 'status',
  summary: 'Show a job on a stack (plateau up or deployed): status, step, DVAR ratio, outputs',
  usage: `plateau status <jobId> ${STACK_USAGE} [--json]`,
  async run(args, io) {
    const { jobId, values } = parseJobArgs(args, { json: { type: 'boolean' } });
    const target = resolveStackTarget(values);
    const { openStack } = await import('./open-stack.ts');
    const stack = openStack(target);
    try {
      const summary = await summarizeJob(stack, jobId);
      if (!summary) {
        io.err.write(`plateau status: no job '${jobId}' in table ${target.table}\n`);
        return 1;
      }
      io.out.write(values.json ? `${JSON.stringify(summary)}\n` : formatSummary(summary, target));
      return 0;
    } finally {
      stack.close();
    }
  },
};
