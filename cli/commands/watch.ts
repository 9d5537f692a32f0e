// `plateau watch <jobId>`: follows a job on a stack until it ends, printing a line whenever its status or
// step changes (JSON lines with --json). Exit code: 0 SUCCEEDED, 1 FAILED (or no such job), 3 CANCELLED.
import { isFinal } from '../../shared/job-record.ts';
import { type JobSummary, summarizeJob } from '../../shared/job-summary.ts';
import { boundedOption, type Command } from '../command.ts';
import { resolveStackTarget, STACK_USAGE } from './stack-target.ts';
import { formatProgress, parseJobArgs } from './status.ts';

export const WATCH_EXIT = { SUCCEEDED: 0, FAILED: 1, CANCELLED: 3 } as const;

/** How long to wait for the job record to appear (submit-job creates it once job.json has landed). */
const APPEAR_MS = 60_000;

export const watchCommand: Command = {
  name: 'watch',
  summary: 'Follow a job on a stack until it ends (exit 0 succeeded, 1 failed, 3 cancelled)',
  usage: `plateau watch <jobId> ${STACK_USAGE} [--interval <seconds>] [--json]`,
  async run(args, io) {
    const { jobId, values } = parseJobArgs(args, { interval: { type: 'string' }, json: { type: 'boolean' } });
    const seconds = boundedOption(values, 'interval', { min: 0, above: true }) ?? 2;
    const { openStack } = await import('./open-stack.ts');
    const stack = openStack(resolveStackTarget(values));
    const json = values.json === true;
    try {
      const started = Date.now();
      let shown = '';
      for (;;) {
        const summary: JobSummary | undefined = await summarizeJob(stack, jobId);
        if (!summary) {
          if (Date.now() - started > APPEAR_MS) {
            io.err.write(`plateau watch: no job '${jobId}' after ${APPEAR_MS / 1000} s\n`);
            return 1;
          }
        } else {
          const key = `${summary.status} ${summary.step ?? ''} ${summary.criterionStep ?? ''}`;
          if (key !== shown) {
            shown = key;
            const elapsed = ((Date.now() - started) / 1000).toFixed(1);
            io.out.write(
              json ? `${JSON.stringify(summary)}\n` : `[${elapsed}s] ${formatProgress(summary)}\n`,
            );
          }
          if (isFinal(summary.status)) {
            if (summary.savings && !json) io.out.write(`  ${summary.savings}\n`);
            if (summary.error && !json) io.out.write(`  error: ${summary.error}\n`);
            return summary.status === 'SUCCEEDED' || summary.status === 'CANCELLED'
              ? WATCH_EXIT[summary.status]
              : WATCH_EXIT.FAILED;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      }
    } finally {
      stack.close();
    }
  },
};
