// SIGTERM on the trainer (Batch's TerminateJob, a Spot reclaim, an attempt timeout; the embedded runner alike) and
// the 30 s Batch allows before its SIGKILL: the signal raises a flag the training loop reads after every step (it
// then checkpoints that step and ends the attempt), and a deadline inside the grace period exits regardless.

/** Batch sends SIGKILL this long after SIGTERM (docs.aws.amazon.com/batch/latest/userguide/job_timeouts.html). */
export const BATCH_STOP_GRACE_MS = 30_000;
/** What the trainer keeps for itself: it exits by this long after SIGTERM, checkpoint written or not. */
export const TERMINATION_DEADLINE_MS = 25_000;

export interface Termination {
  /** True once SIGTERM arrived. */
  readonly requested: () => boolean;
  /** Removes the handler and the deadline (the attempt ended on its own). */
  dispose(): void;
}

export interface TerminationOptions {
  /** The process to watch (the real one in the container; an emitter in tests). */
  readonly target: Pick<NodeJS.Process, 'on' | 'off'>;
  /** Called once, deadlineMs after the signal, when the attempt has not ended by then. */
  readonly onDeadline: () => void;
  readonly deadlineMs?: number;
  readonly log?: (line: string) => void;
}

export function watchTermination(options: TerminationOptions): Termination {
  let requested = false;
  let deadline: NodeJS.Timeout | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested) return;
    requested = true;
    const ms = options.deadlineMs ?? TERMINATION_DEADLINE_MS;
    options.log?.(
      `${signal}: checkpointing the current step, then exiting (at the latest in ${ms / 1000} s)`,
    );
    deadline = setTimeout(options.onDeadline, ms);
    deadline.unref();
  };
  options.target.on('SIGTERM', onSignal);
  return {
    requested: () => requested,
    dispose() {
      options.target.off('SIGTERM', onSignal);
      if (deadline) clearTimeout(deadline);
    },
  };
}
