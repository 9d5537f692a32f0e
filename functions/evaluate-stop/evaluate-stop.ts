// evaluate-stop: the monitor's decision. Reads the job record, the Batch job and the loss samples, runs DVAR
// with the manifest's window and threshold, and returns continue (with an adaptive wait), stop (with the
// criterion step), finished (the trainer exited) or failed.
import { dvarParamsOf, findCriterionIndex, NonFiniteLossError } from '../../shared/dvar.ts';
import { isFinal, type JobRecord, type JobStore, requestCriterionStop } from '../../shared/job-record.ts';
import { MonitorDecision, MonitorState } from '../../shared/monitor-contract.ts';
import type { BatchJobInfo, BatchJobs, Clock } from '../../shared/pipeline-ports.ts';
import type { LossSample } from '../../shared/ports.ts';
import {
  detLossHistory,
  normalizeSamples,
  observedStepRate,
  type SampleReader,
} from '../../shared/samples.ts';
import { valuesUntilPossibleHold } from './earliest-hold.ts';

/**
 * Wait policy (functions/README.md derives it). The stop latency (steps trained after the criterion step c) is
 * about rate × (detection delay + overhead), where the detection delay is the time between the trainer
 * writing the criterion sample and the monitor reading it, and the overhead covers the flag write and the
 * trainer's next stop-flag check (at its next flush, about once a second). The wait before the next look is
 *   wait = max(untilPossible, budget), clamped to [minWaitSeconds, maxWaitSeconds] and to the time to maxSteps
 * - untilPossible: DVAR provably cannot hold before k* more values (valuesUntilPossibleHold), i.e. before
 *   step s* = lastValueStep + k*·evalEvery; the trainer reaches it in (s* − lastStep)/(rate·rateMargin) s,
 *   less the time already elapsed since its last sample. Waiting for it costs no latency at all.
 * - budget: the delay the 2 % target allows at the earliest possible criterion step,
 *   latencyFraction · max(s*, lastStep) / rate − overheadSeconds (c ≥ s*, so this bounds latency by 2 % of c).
 * When the wait comes out at the floor (a stop may be due within a second), one invocation keeps polling
 * itself every pollMs for up to holdSeconds: a finer cadence than a Wait state's whole seconds, and ~20×
 * cheaper than 1 s Wait loops (5 state transitions per loop). Before the step rate is known the monitor
 * polls every startupWaitSeconds once the trainer runs (queuedWaitSeconds while Batch has not started it).
 */
export const WAIT_POLICY = {
  latencyFraction: 0.02,
  overheadSeconds: 2,
  minWaitSeconds: 1,
  maxWaitSeconds: 300,
  /** The trainer may speed up (warm caches, a neighbour leaving the GPU): plan with this much faster. */
  rateMargin: 1.25,
  /** Batch has not started the trainer yet (queued, instance or image starting). */
  queuedWaitSeconds: 10,
  /** The trainer runs but has not written two samples yet: poll quickly until its step rate is known. */
  startupWaitSeconds: 2,
  /** While waiting for the trainer to exit after a stop request. */
  exitWaitSeconds: 2,
  /** After a stop request, a trainer still running after this long is declared stuck. */
  stopGraceSeconds: 900,
  /** Fine polling inside one invocation: at most this long (well below the task's 60 s timeout)… */
  holdSeconds: 20,
  /** …every this many ms… */
  pollMs: 200,
  /** …and it gives up early when the trainer has written nothing new for this long. */
  staleSeconds: 5,
} as const;

/** How long a Batch job may sit RUNNABLE (Batch finds no instance: quota, Spot capacity) by default. */
export const DEFAULT_RUNNABLE_LIMIT_SECONDS = 3600;

export interface EvaluateStopDeps {
  readonly jobs: JobStore;
  readonly samples: SampleReader;
  readonly batch: BatchJobs;
  readonly clock: Clock;
  /**
   * A job whose Batch job waits RUNNABLE longer than this fails "no capacity" (finalize terminates it).
   * @default DEFAULT_RUNNABLE_LIMIT_SECONDS
   */
  readonly runnableLimitSeconds?: number;
}

/** Parses the configured limit (the handler's env var); absent means the default. */
export function parseRunnableLimit(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_RUNNABLE_LIMIT_SECONDS;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new Error(`runnable limit must be > 0 s (got ${value})`);
  return seconds;
}

/**
 * "no capacity" when Batch has kept the job RUNNABLE past the limit: since submit, or since the last attempt
 * stopped (a Spot reclaim puts the job back in the queue, and that wait counts afresh).
 */
function noCapacityReason(
  record: JobRecord,
  batch: BatchJobInfo,
  deps: EvaluateStopDeps,
): string | undefined {
  if (batch.status !== 'RUNNABLE') return undefined;
  const limit = deps.runnableLimitSeconds ?? DEFAULT_RUNNABLE_LIMIT_SECONDS;
  const lastStop = batch.attempts[batch.attempts.length - 1]?.stoppedAtMs;
  const sinceMs = lastStop ?? Date.parse(record.createdAt);
  const waited = (deps.clock.now().getTime() - sinceMs) / 1000;
  if (waited <= limit) return undefined;
  return `no capacity: Batch job ${batch.batchJobId} RUNNABLE for ${Math.round(waited)} s (limit ${limit} s)`;
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
  if (record.stopReason === 'cancelled' && batch.attempts.length === 0) {
    // Cancelled before any trainer started: no trainer will ever see the flag, so Batch drops the job here and
    // finalize ends it CANCELLED without outputs.
    if (batch.status !== 'FAILED' && batch.status !== 'SUCCEEDED')
      await deps.batch.terminate(batch.batchJobId, 'plateau: cancelled before the trainer started');
    return decide({ action: 'finished', waitSeconds: 1, reason: 'cancelled', ...carried });
  }
  if (batch.status === 'FAILED') {
    const reason = record.error ?? `trainer failed: ${batch.statusReason ?? 'no reason given by Batch'}`;
    return decide({ action: 'failed', waitSeconds: 1, reason, ...carried });
  }
  if (batch.status === 'SUCCEEDED') return decide({ action: 'finished', waitSeconds: 1, ...carried });
  const noCapacity = noCapacityReason(record, batch, deps);
  if (noCapacity) return decide({ action: 'failed', waitSeconds: 1, reason: noCapacity, ...carried });

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

  return decideFromSamples(record, batch.status === 'RUNNING', deps);
}

/**
 * DVAR over the stored samples: stop (flagging the record at once, so the trainer stops at its next flush
 * without waiting for request-stop's own invocation), or continue with the adaptive wait. When that wait is
 * at the floor, keeps polling in this invocation (WAIT_POLICY documents when and why).
 */
async function decideFromSamples(
  record: JobRecord,
  trainerStarted: boolean,
  deps: EvaluateStopDeps,
): Promise<MonitorDecision> {
  const { holdSeconds, pollMs, staleSeconds, minWaitSeconds } = WAIT_POLICY;
  const startedMs = deps.clock.now().getTime();
  const maxPolls = Math.max(1, Math.floor((holdSeconds * 1000) / pollMs));
  let samples = await deps.samples.read(record.jobId);
  for (let poll = 1; ; poll++) {
    const verdict = criterionVerdict(samples, record);
    if (verdict) {
      if (verdict.action === 'stop' && verdict.criterionStep !== undefined) {
        await requestCriterionStop(deps.jobs, record.jobId, verdict.criterionStep, deps.clock.now());
      }
      return verdict;
    }
    const nowMs = deps.clock.now().getTime();
    const waitSeconds = chooseWait(samples, record, nowMs, trainerStarted);
    const last = samples[samples.length - 1];
    const stale = last === undefined || nowMs - last.wallTimeMs > staleSeconds * 1000;
    if (
      waitSeconds > minWaitSeconds ||
      stale ||
      poll >= maxPolls ||
      nowMs - startedMs >= holdSeconds * 1000
    ) {
      return MonitorDecision.parse({ action: 'continue', waitSeconds });
    }
    await deps.clock.sleep(pollMs);
    // A cancel, a stop or an exit meanwhile is the regular evaluation's business: hand back to the loop.
    const current = await deps.jobs.get(record.jobId);
    if (!current || current.stopRequested || current.status === 'STOPPING' || isFinal(current.status)) {
      return MonitorDecision.parse({ action: 'continue', waitSeconds: minWaitSeconds });
    }
    samples = await readNewer(deps.samples, record.jobId, samples);
  }
}

/** stop or failed when DVAR says so; undefined to continue. */
function criterionVerdict(samples: readonly LossSample[], record: JobRecord): MonitorDecision | undefined {
  const manifest = record.manifest;
  if (manifest?.stop.criterion !== 'dvar') return undefined;
  const history = detLossHistory(samples);
  let index: number | null;
  try {
    index = findCriterionIndex(history.values, dvarParamsOf(manifest.stop));
  } catch (error) {
    if (error instanceof NonFiniteLossError) {
      return MonitorDecision.parse({ action: 'failed', waitSeconds: 1, reason: error.message });
    }
    throw error;
  }
  if (index === null) return undefined;
  return MonitorDecision.parse({
    action: 'stop',
    waitSeconds: 1,
    criterionStep: history.steps[index],
    reason: 'criterion',
  });
}

/** The samples after the last one held (one small query when the reader supports it). */
async function readNewer(
  reader: SampleReader,
  jobId: string,
  held: readonly LossSample[],
): Promise<LossSample[]> {
  const last = held[held.length - 1];
  if (!reader.readAfter || last === undefined) return reader.read(jobId);
  const newer = await reader.readAfter(jobId, last.step);
  return newer.length === 0 ? [...held] : normalizeSamples([...held, ...newer]);
}

/**
 * The adaptive wait in whole seconds (WAIT_POLICY documents the formula). `nowMs` (default: the last sample's
 * time) discounts the time the trainer has already trained since its last sample; `trainerStarted` false
 * (Batch has not started it) polls at the queued pace before any sample exists.
 */
export function chooseWait(
  samples: readonly LossSample[],
  record: JobRecord,
  nowMs?: number,
  trainerStarted = true,
): number {
  const P = WAIT_POLICY;
  const rate = observedStepRate(samples);
  const last = samples[samples.length - 1];
  if (rate === undefined || last === undefined) {
    return trainerStarted ? P.startupWaitSeconds : P.queuedWaitSeconds;
  }
  const stop = record.manifest?.stop;
  let wait: number;
  if (stop?.criterion === 'dvar') {
    const history = detLossHistory(samples);
    const ahead = valuesUntilPossibleHold(history.values, dvarParamsOf(stop));
    const lastValueStep = history.steps[history.steps.length - 1] ?? -stop.evalEvery;
    const earliest = lastValueStep + ahead * stop.evalEvery;
    const elapsed = nowMs === undefined ? 0 : Math.max(0, (nowMs - last.wallTimeMs) / 1000);
    const untilPossible = (earliest - last.step) / (rate * P.rateMargin) - elapsed;
    const budget = (P.latencyFraction * Math.max(earliest, last.step)) / rate - P.overheadSeconds;
    wait = Math.max(untilPossible, budget);
  } else {
    // No criterion: only the trainer's exit (and a cancel) remain to be seen; 2 % of the run so far.
    wait = (P.latencyFraction * last.step) / rate - P.overheadSeconds;
  }
  const maxSteps = record.manifest?.training.maxSteps;
  if (maxSteps !== undefined) {
    // Near the cap the trainer exits on its own; poll in time to see it.
    wait = Math.min(wait, Math.max(P.minWaitSeconds, (maxSteps - last.step) / rate));
  }
  return Math.floor(Math.min(P.maxWaitSeconds, Math.max(P.minWaitSeconds, wait)));
}

async function markRunning(record: JobRecord, batch: BatchJobInfo, deps: EvaluateStopDeps): Promise<void> {
  const startedAt = new Date(batch.startedAtMs ?? deps.clock.now().getTime()).toISOString();
  await deps.jobs.update(record.jobId, {
    from: ['QUEUED'],
    to: 'RUNNING',
    patch: { startedAt, attempts: Math.max(record.attempts, batch.attempts.length, 1) },
  });
}
