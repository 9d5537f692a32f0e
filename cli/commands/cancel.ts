// `plateau cancel <jobId>`: cancels a job the way the monitor stops one (requestCancel: the record is flagged
// and moves to STOPPING; the trainer stops at its next flush; the job ends CANCELLED with the last step's
// artifacts). Exit 0 when the cancel was recorded, 1 when the job is unknown, finished or already stopping.
import { requestCancel } from '../../shared/job-record.ts';
import type { Command } from '../command.ts';
import { resolveStackTarget, STACK_USAGE } from './stack-target.ts';
import { parseJobArgs } from './status.ts';

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'Cancel a job on a stack; it ends CANCELLED with the last step trained',
  usage: `plateau cancel <jobId> ${STACK_USAGE}`,
  async run(args, io) {
    const { jobId, values } = parseJobArgs(args, {});
    const target = resolveStackTarget(values);
    const { openStack } = await import('./open-stack.ts');
    const stack = openStack(target);
    try {
      const flagged = await requestCancel(stack.jobs, jobId, new Date());
      if (flagged) {
        io.out.write(
          `${jobId}: cancel requested; the trainer stops at its next flush and the job ends CANCELLED\n`,
        );
        return 0;
      }
      const record = await stack.jobs.get(jobId);
      if (!record) io.err.write(`plateau cancel: no job '${jobId}' in table ${target.table}\n`);
      else if (record.status === 'STOPPING')
        io.err.write(
          `plateau cancel: ${jobId} is already stopping (${record.stopReason ?? 'stop requested'})\n`,
        );
      else io.err.write(`plateau cancel: ${jobId} has already ended (${record.status})\n`);
      return 1;
    } finally {
      stack.close();
    }
  },
};
