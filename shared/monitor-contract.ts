// The contract between the monitor state machine (infra/) and its Lambda tasks (functions/): the state each
// task receives and the decision evaluate-stop returns, which the state machine's Choice state branches on.
import { z } from 'zod';

/** What every monitor task receives: the job and the monitor's running state. */
export const MonitorState = z.object({
  jobId: z.string(),
  /** Set once request-stop has run, so evaluate-stop then only waits for the trainer to exit. */
  stopRequested: z.boolean().default(false),
  /**
   * Set by the monitor when finalize failed on every attempt: finalize then only ends the job FAILED with
   * this reason and publishes the completion event (its last resort, so no job stays non-final).
   */
  finalizeError: z.string().optional(),
  /** The last decision (absent on the first evaluation). */
  decision: z
    .object({
      action: z.enum(['continue', 'stop', 'finished', 'failed']),
      waitSeconds: z.number().int().min(1).max(3600),
      criterionStep: z.number().int().nonnegative().optional(),
      reason: z.string().optional(),
    })
    .optional(),
});
export type MonitorState = z.infer<typeof MonitorState>;

/**
 * evaluate-stop's output, stored at $.decision:
 * - continue: Wait waitSeconds, evaluate again;
 * - stop: the criterion held at criterionStep (or a cancel): run request-stop, then keep evaluating until
 *   the trainer has exited;
 * - finished: the trainer has exited (after a stop, or on its own at maxSteps): run finalize;
 * - failed: the trainer or the job failed (reason says why): run finalize, which marks the job FAILED.
 */
export const MonitorDecision = z.object({
  action: z.enum(['continue', 'stop', 'finished', 'failed']),
  waitSeconds: z.number().int().min(1).max(3600),
  criterionStep: z.number().int().nonnegative().optional(),
  reason: z.string().optional(),
});
export type MonitorDecision = z.infer<typeof MonitorDecision>;
