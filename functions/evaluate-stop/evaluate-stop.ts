// evaluate-stop: the monitor's decision. Reads the job record, the Batch job and the loss samples, runs DVAR
// with the manifest's window and threshold, and returns continue (with an adaptive wait), stop (with the
// criterion step), finished (the trainer exited) or failed.
import { findCriterionIndex, NonFiniteLossError } from '../../shared/dvar.ts';
import type { JobRecord, JobStore } from '../../shared/job-record.ts';
import { MonitorDecision, MonitorState } from '../../shared/monitor-contract.ts';
import type { BatchJobInfo, BatchJobs, Clock } from '../../shared/pipeline-ports.ts';
import type { LossSample } from '../../shared/ports.ts';
import { detLossHistory, observedStepRate, type SampleReader } from '../../shared/samples.ts';

/**
 * Wait policy. The stop latency (steps trained after the criterion step c) is about
 *   rate × (wait + overhead)
 * where rate is the observed steps/second and overhead covers the trainer's flush interval, the Lambda calls
 * and the trainer's next stop-flag check. Aiming at latency ≤ LATENCY_FRACTION × c, and using the lower bound
 * c ≥ max(current step, window) (DVAR cannot hold before `window` values), the wait is
 *   wait = LATENCY_FRACTION × max(step, window) / rate − OVERHEAD_SECONDS,
 * but never less than the time the trainer needs to reach the earliest possible criterion sample,
 *   (window + 1 − values) × evalEvery / rate,
 * since no stop can be due before then. Clamped to [MIN_WAIT_SECONDS, MAX_WAIT_SECONDS].
 */
export const WAIT_POLICY = {
  latencyFraction: 0.02,
  overheadSeconds: 2,
  minWaitSeconds: 1,
  maxWaitSeconds: 300,
  /** Before the trainer has written two samples (image pull, model download, graph build). */
  startupWaitSeconds: 20,
  /** While waiting for the trainer to exit after a stop request. */
  exitWaitSeconds: 5,
  /** After a stop request, a trainer still running after this long is declared stuck. */
  stopGraceSeconds: 900,
} as const;

export interface EvaluateStopDeps {
  readonly jobs: JobStore;
  readonly samples: SampleReader;
  readonly batch: BatchJobs;
  readonly clock: Clock;
}

export function parseEvaluateInput(event: unknown): MonitorState {
  return MonitorState.parse(event);
}

export async function evaluateStop(state: MonitorState, deps: EvaluateStopDeps): Promise<MonitorDecision> {
  const decide = (decision: MonitorDecision) => MonitorDecision.parse(decision);
  const record = await deps.jobs.get(state.jobId);
  if (!record)
    return decide({ action: 'failed', waitSeconds: 1, reason: `no job record for ${state.jobId}` });
  const criterionStep = state.decision?.criterionStep ?? record.criterionStep;
  const carried = criterionStep === undefined ? {} : { criterionStep };
  if (record.status === 'FAILED') {
    return decide({ action: 'failed', waitSeconds: 1, reason: record.error ?? 'job failed', ...carried });
  }
  if (record.status === 'SUCCEEDED' || record.status === 'CANCELLED') {
    return decide({ action: 'finished', waitSeconds: 1, ...carried });
  }
  if (!record.batchJobId) {
    // submit-job has not recorded the Batch job yet (it starts the monitor after that, so this is a replay).
    return decide({ action: 'continue', waitSeconds: WAIT_POLICY.startupWaitSeconds, ...carried });
  }
  const batch = await deps.batch.describe(record.batchJobId);
  if (!batch) {
    return decide({
      action: 'failed',
      waitSeconds: 1,
      reason: `Batch job ${record.batchJobId} not found`,
      ...carried,
    });
  }
  if (batch.status === 'FAILED') {
    const reason = record.error ?? `trainer failed: ${batch.statusReason ?? 'no reason given by Batch'}`;
    return decide({ action: 'failed', waitSeconds: 1, reason, ...carried });
  }
  if (batch.status === 'SUCCEEDED') return decide({ action: 'finished', waitSeconds: 1, ...carried });

  if (batch.status === 'RUNNING' && record.status === 'QUEUED') await markRunning(record, batch, deps);

  if (state.stopRequested || record.status === 'STOPPING') {
    const requestedAt = record.stopRequestedAt ? Date.parse(record.stopRequestedAt) : undefined;
    const elapsed = requestedAt === undefined ? 0 : (deps.clock.now().getTime() - requestedAt) / 1000;
    if (elapsed > WAIT_POLICY.stopGraceSeconds) {
      const reason = `trainer still ${batch.status} ${Math.round(elapsed)} s after the stop request`;
      return decide({ action: 'failed', waitSeconds: 1, reason, ...carried });
    }
    if (!state.stopRequested) {
      // Stop flagged outside the monitor (a cancel): let request-stop run so the state machine knows.
      return decide({ action: 'stop', waitSeconds: 1, reason: record.stopReason ?? 'cancelled', ...carried });
    }
    return decide({ action: 'continue', waitSeconds: WAIT_POLICY.exitWaitSeconds, ...carried });
  }
  if (record.stopRequested) {
    return decide({ action: 'stop', waitSeconds: 1, reason: record.stopReason ?? 'cancelled', ...carried });
  }

  const samples = await deps.samples.read(record.jobId);
  const manifest = record.manifest;
  if (manifest && manifest.stop.criterion === 'dvar') {
    const history = detLossHistory(samples);
    let index: number | null;
    try {
      index = findCriterionIndex(history.values, manifest.stop);
    } catch (error) {
      if (error instanceof NonFiniteLossError) {
        return decide({ action: 'failed', waitSeconds: 1, reason: error.message });
      }
      throw error;
    }
    if (index !== null) {
      return decide({
        action: 'stop',
        waitSeconds: 1,
        criterionStep: history.steps[index],
        reason: 'criterion',
      });
    }
  }
  return decide({ action: 'continue', waitSeconds: chooseWait(samples, record) });
}

/** The adaptive wait (WAIT_POLICY documents the formula). */
export function chooseWait(samples: readonly LossSample[], record: JobRecord): number {
  const rate = observedStepRate(samples);
  const last = samples[samples.length - 1];
  const { latencyFraction, overheadSeconds, minWaitSeconds, maxWaitSeconds, startupWaitSeconds } =
    WAIT_POLICY;
  if (rate === undefined || last === undefined) return startupWaitSeconds;
  const stop = record.manifest?.stop;
  const window = stop?.criterion === 'dvar' ? stop.window : 0;
  const evalEvery = stop?.evalEvery ?? 1;
  const values = detLossHistory(samples).values.length;
  const budget = (latencyFraction * Math.max(last.step, window)) / rate - overheadSeconds;
  const untilEarliest =
    window > 0 ? (Math.max(0, window + 1 - values) * evalEvery) / rate - overheadSeconds : 0;
  let wait = Math.max(budget, untilEarliest);
  const maxSteps = record.manifest?.training.maxSteps;
  if (maxSteps !== undefined) {
    // Near the cap the trainer exits on its own; poll in time to see it.
    wait = Math.min(wait, Math.max(minWaitSeconds, (maxSteps - last.step) / rate));
  }
  return Math.floor(Math.min(maxWaitSeconds, Math.max(minWaitSeconds, wait)));
}

async function markRunning(record: JobRecord, batch: BatchJobInfo, deps: EvaluateStopDeps): Promise<void> {
  const startedAt = new Date(batch.startedAtMs ?? deps.clock.now().getTime()).toISOString();
  await deps.jobs.update(record.jobId, {
    from: ['QUEUED'],
    to: 'RUNNING',
    patch: { startedAt, attempts: Math.max(record.attempts, batch.attempts.length, 1) },
  });
}
