// The training loop: evaluate the fixed batch every `evalEvery` steps before the optimizer step (so step 0 is
// the initial weights), train one batch, AdamW-update the trainable tensors, stream a sample per step, check the stop
// signal at every flush, checkpoint every N steps and at the stop, and at once when the process is told to go
// (SIGTERM: TrainingInterrupted). Resuming from a checkpoint replays nothing: the state holds the parameters,
// moments, RNG position and loss history, so the run continues bit-for-bit.
import type { ArtifactStore, LossSample, SampleSink, StopSignal } from '../../../shared/ports.ts';
import { type AdamWConfig, adamwStep, initAdamW, type LearningRateRange } from './adamw.ts';
import { assertSameFingerprint, type Fingerprint, saveCheckpoint, type TrainState } from './checkpoint.ts';
import { clipGradNorm } from './grad-clip.ts';
import type { BatchSource, LossAndGradient, StopCriterion } from './objective.ts';
import { Rng } from './rng.ts';

export interface TrainLoopOptions {
  /** The effective (already scaled) constant learning rate (recorded with each sample). */
  readonly lr: number;
  /** A learning rate per range of the packed parameters (parameter groups); absent = `lr` everywhere. */
  readonly lrRanges?: readonly LearningRateRange[];
  /** Clip the gradient of all trainables together to this L2 norm before AdamW (absent: no clipping). */
  readonly maxGradNorm?: number;
  readonly adam: Omit<AdamWConfig, 'lr'>;
  readonly seed: number;
  readonly maxSteps: number;
  readonly evalEvery: number;
  /** Samples are flushed (and the stop signal checked) every this many steps. */
  readonly flushEvery: number;
  /**
   * Also flush once this many ms have passed since the last flush (the pipeline: the monitor sees samples and
   * the trainer sees a stop request within about this long, however slow or fast the steps are).
   */
  readonly flushIntervalMs?: number;
  readonly checkpointEvery: number;
  /** Settings the numbers depend on; stored in checkpoints and compared on resume. */
  readonly fingerprint: Fingerprint;
}

export interface StepProgress {
  readonly step: number;
  readonly detLoss?: number;
  readonly trainLoss: number;
  readonly ratio?: number | null;
  readonly lr: number;
}

export interface TrainLoopDeps<Batch> {
  readonly objective: LossAndGradient<Batch>;
  readonly batches: BatchSource<Batch>;
  readonly sink: SampleSink;
  readonly stopSignal: StopSignal;
  readonly store: ArtifactStore;
  /** In-process stopping rule (standalone `plateau train`); absent in the pipeline, where the monitor decides. */
  readonly criterion?: () => StopCriterion;
  readonly clock?: () => number;
  readonly onStep?: (progress: StepProgress) => void;
  readonly onCheckpoint?: (key: string, step: number) => void;
  /**
   * True once the process must end (SIGTERM: a Spot reclaim, TerminateJob): read after every step, it makes the
   * loop checkpoint the step it is at and throw TrainingInterrupted, so the next attempt loses no step.
   */
  readonly interrupted?: () => boolean;
}

/** Thrown when an interruption ended the loop after it checkpointed `step` (the next attempt resumes there). */
export class TrainingInterrupted extends Error {
  readonly step: number;
  readonly key: string;
  constructor(step: number, key: string) {
    super(`interrupted: checkpointed step ${step} to ${key}`);
    this.name = 'TrainingInterrupted';
    this.step = step;
    this.key = key;
  }
}

/** 'criterion' (the in-process DVAR held), 'max-steps', or the stop signal's reason (e.g. 'cancelled'). */
export type StopReason = 'criterion' | 'max-steps' | (string & {});

export interface TrainResult {
  /** The trained tensors, packed (trainables.ts). */
  readonly params: Float32Array;
  /** Optimizer steps trained in total (across resumes). */
  readonly steps: number;
  readonly stopReason: StopReason;
  readonly criterionStep: number | null;
  readonly finalRatio: number | null;
  readonly history: readonly { step: number; loss: number }[];
  readonly resumedFrom: number | null;
}

function assertFinite(value: number, what: string, step: number): void {
  if (!Number.isFinite(value)) {
    throw new Error(
      `${what} is not finite at step ${step} (${value}): training diverged or the model is broken`,
    );
  }
}

/** A fresh state at step 0 with `initialParams` (copied) as the trainable tensors. */
export function initialState(
  initialParams: Float32Array,
  seed: number,
  fingerprint: Fingerprint,
): TrainState {
  return {
    step: 0,
    params: Float32Array.from(initialParams),
    adam: initAdamW(initialParams.length),
    trainRng: Rng.forStream(seed, 'train').state(),
    history: [],
    criterionStep: null,
    stopReason: null,
    fingerprint,
  };
}

export async function runTrainingLoop<Batch>(
  start: TrainState,
  options: TrainLoopOptions,
  deps: TrainLoopDeps<Batch>,
): Promise<TrainResult> {
  for (const [name, value] of [
    ['maxSteps', options.maxSteps],
    ['evalEvery', options.evalEvery],
    ['flushEvery', options.flushEvery],
    ['checkpointEvery', options.checkpointEvery],
  ] as const) {
    if (!Number.isInteger(value) || value < (name === 'maxSteps' ? 0 : 1)) {
      throw new Error(`${name} must be a positive integer, got ${value}`);
    }
  }
  const resumedFrom = start.step > 0 || start.history.length > 0 ? start.step : null;
  if (resumedFrom !== null) assertSameFingerprint(start.fingerprint, options.fingerprint);
  const clock = deps.clock ?? Date.now;
  const state: TrainState = { ...start, fingerprint: options.fingerprint };
  const rng = Rng.fromState(state.trainRng);
  const adamConfig: AdamWConfig = { ...options.adam, lr: options.lr };

  // Rebuild the criterion by replaying the history: the same pushes in the same order give the same numbers.
  const criterion = deps.criterion?.();
  let ratio: number | null = null;
  for (const point of state.history) {
    const verdict = criterion?.push(point.loss);
    ratio = verdict?.ratio ?? null;
  }

  const finish = async (stopReason: StopReason): Promise<TrainResult> => {
    await deps.sink.flush();
    state.trainRng = rng.state();
    state.stopReason = stopReason;
    const key = await saveCheckpoint(deps.store, state);
    deps.onCheckpoint?.(key, state.step);
    return {
      params: state.params,
      steps: state.step,
      stopReason,
      criterionStep: state.criterionStep,
      finalRatio: ratio,
      history: state.history,
      resumedFrom,
    };
  };

  // A run that already stopped by the criterion stays stopped: its last weights are the result.
  if (criterion && state.criterionStep !== null) return finish('criterion');

  const checkpointNow = async (): Promise<string> => {
    await deps.sink.flush();
    state.trainRng = rng.state();
    const key = await saveCheckpoint(deps.store, state);
    deps.onCheckpoint?.(key, state.step);
    return key;
  };
  if (deps.interrupted?.()) throw new TrainingInterrupted(state.step, await checkpointNow());

  let lastFlushAt = clock();
  while (state.step < options.maxSteps) {
    const step = state.step;
    let detLoss: number | undefined;
    let holds = false;
    if (step % options.evalEvery === 0) {
      detLoss = await deps.objective.loss(state.params, deps.batches.eval);
      assertFinite(detLoss, 'the deterministic loss', step);
      state.history.push({ step, loss: detLoss });
      if (criterion) {
        const verdict = criterion.push(detLoss);
        ratio = verdict.ratio ?? null;
        holds = verdict.holds;
        if (holds) state.criterionStep = step;
      }
    }
    const batch = await deps.batches.train(rng);
    const { loss, gradient } = await deps.objective.lossAndGradient(state.params, batch);
    assertFinite(loss, 'the training loss', step);
    if (options.maxGradNorm !== undefined) clipGradNorm(gradient, options.maxGradNorm);
    adamwStep(state.params, gradient, state.adam, adamConfig, options.lrRanges);
    state.step = step + 1;

    const sample: LossSample =
      detLoss === undefined
        ? { step, trainLoss: loss, lr: options.lr, wallTimeMs: clock() }
        : { step, detLoss, trainLoss: loss, lr: options.lr, wallTimeMs: clock() };
    await deps.sink.write(sample);
    deps.onStep?.({
      step,
      trainLoss: loss,
      lr: options.lr,
      ratio,
      ...(detLoss === undefined ? {} : { detLoss }),
    });

    // The step at which the criterion held is trained too (its sample is complete); then the run ends.
    if (holds) return finish('criterion');
    if (deps.interrupted?.() && state.step < options.maxSteps) {
      throw new TrainingInterrupted(state.step, await checkpointNow());
    }
    const intervalDue =
      options.flushIntervalMs !== undefined && clock() - lastFlushAt >= options.flushIntervalMs;
    if (state.step % options.flushEvery === 0 || intervalDue) {
      await deps.sink.flush();
      lastFlushAt = clock();
      const signal = await deps.stopSignal.check();
      // A criterion the monitor found at a step this attempt has not trained yet (it decided on a lost attempt's
      // samples, which a resume reproduces bit for bit) is trained up to first: the stop lands on a step trained.
      const ahead = signal.criterionStep !== undefined && signal.criterionStep >= state.step;
      if (signal.stop && !ahead) return finish(signal.reason ?? 'stop-requested');
    }
    if (state.step % options.checkpointEvery === 0 && state.step < options.maxSteps) await checkpointNow();
  }
  return finish('max-steps');
}
