// `plateau status <jobId>`: one look at a job on a stack (embedded or deployed) — status, the last step, the
// deterministic loss and DVAR ratio so far, the criterion step, the stop reason or error, and the outputs.
// The summary itself is shared/job-summary.ts (the web console lists jobs with the same one).
import { type JobSummary, summarizeJob } from '../../shared/job-summary.ts';
import { isValidJobId } from '../../shared/keys.ts';
import { type Command, parseCommandArgs, UsageError } from '../command.ts';
import { resolveStackTarget, STACK_OPTIONS, STACK_USAGE, type StackTarget } from './stack-target.ts';

/** One line: what the progress views print. */
export function formatProgress(summary: JobSummary): string {
  const parts = [`${summary.jobId}  ${summary.status.padEnd(9)}`];
  if (summary.queuePosition !== undefined) parts.push(`#${summary.queuePosition} in the queue`);
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
  const parsed = parseCommandArgs(args, { ...STACK_OPTIONS, ...extra }, { positionals: true });
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
