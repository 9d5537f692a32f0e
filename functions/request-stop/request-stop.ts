// request-stop: flags the job record so the trainer stops at its next flush. Sets stopRequested, the reason
// and the criterion step, and moves the job to STOPPING. A cancel that flagged the record first keeps its
// reason; repeating the call changes nothing.
import type { JobStore } from '../../shared/job-record.ts';
import { StopReason } from '../../shared/job-record.ts';
import { MonitorState } from '../../shared/monitor-contract.ts';
import type { Clock } from '../../shared/pipeline-ports.ts';

export interface RequestStopDeps {
  readonly jobs: JobStore;
  readonly clock: Clock;
}

export function parseRequestStopInput(event: unknown): MonitorState {
  return MonitorState.parse(event);
}

/** Returns the monitor state with stopRequested set (the state machine replaces its state with it). */
export async function requestStop(state: MonitorState, deps: RequestStopDeps): Promise<MonitorState> {
  const record = await deps.jobs.get(state.jobId);
  if (!record) throw new Error(`request-stop: no job record for ${state.jobId}`);
  const parsedReason = StopReason.safeParse(state.decision?.reason);
  const reason = record.stopReason ?? (parsedReason.success ? parsedReason.data : 'criterion');
  const criterionStep = record.criterionStep ?? state.decision?.criterionStep;
  if (record.status === 'QUEUED' || record.status === 'RUNNING' || record.status === 'STOPPING') {
    await deps.jobs.update(state.jobId, {
      from: ['QUEUED', 'RUNNING', 'STOPPING'],
      to: 'STOPPING',
      patch: {
        stopRequested: true,
        stopReason: reason,
        stopRequestedAt: record.stopRequestedAt ?? deps.clock.now().toISOString(),
        ...(criterionStep === undefined ? {} : { criterionStep }),
      },
    });
  }
  return { ...state, stopRequested: true };
}
