// The training loop's logic on a small quadratic objective: evaluation before the update (step 0 at the
// initial weights), samples per step, bit-for-bit resume from a checkpoint, stop signal at flushes (a criterion
// step ahead trained first), an interruption checkpointing the step it is at, the in-process criterion, and
// clear errors for non-finite losses.
import { DvarTracker } from '../../../shared/dvar.ts';
import type { ArtifactStore, LossSample, SampleSink, StopSignal } from '../../../shared/ports.ts';
import { ADAMW_DEFAULTS } from '../../../trainer-image/src/train/adamw.ts';
import { loadLatestCheckpoint } from '../../../trainer-image/src/train/checkpoint.ts';
import type { BatchSource, LossAndGradient } from '../../../trainer-image/src/train/objective.ts';
import type { Rng } from '../../../trainer-image/src/train/rng.ts';
import {
  initialState,
  runTrainingLoop,
  TrainingInterrupted,
  type TrainLoopOptions,
} from '../../../trainer-image/src/train/train-loop.ts';

const D = 6;
type Batch = Float32Array;

/** loss = mean((rows − c)²) with a noisy centre c per batch; gradient 2(rows − c)/D. */
const quadratic: LossAndGradient<Batch> = {
  async loss(rows, c) {
    return rows.reduce((s, x, i) => s + (x - c[i]!) ** 2, 0) / D;
  },
  async lossAndGradient(rows, c) {
    return { loss: await this.loss(rows, c), gradient: rows.map((x, i) => (2 * (x - c[i]!)) / D) };
  },
};

const centre = Float32Array.from({ length: D }, (_, i) => i / D);
const batches: BatchSource<Batch> = {
  train: (rng: Rng) => centre.map((x, i) => x + 0.3 * rng.normal(D)[i]!),
  eval: centre,
};

class MemoryStore implements ArtifactStore {
  readonly blobs = new Map<string, Uint8Array>();
  async put(key: string, body: Uint8Array) {
    this.blobs.set(key, body.slice());
  }
  async get(key: string) {
    return this.blobs.get(key);
  }
  async list(prefix: string) {
    return [...this.blobs.keys()].filter((k) => k.startsWith(prefix)).sort();
  }
}

class MemorySink implements SampleSink {
  readonly samples: LossSample[] = [];
  flushes = 0;
  async write(sample: LossSample) {
    this.samples.push(sample);
  }
  async flush() {
    this.flushes++;
  }
}

const never: StopSignal = { check: async () => ({ stop: false }) };

const options: TrainLoopOptions = {
  lr: 0.05,
  adam: ADAMW_DEFAULTS,
  seed: 59,
  maxSteps: 40,
  evalEvery: 1,
  flushEvery: 5,
  checkpointEvery: 10,
  fingerprint: { seed: 59, lr: 0.05 },
};

const start = () => initialState(new Float32Array(D).fill(1), 59, options.fingerprint);
const strip = (s: LossSample) => ({ step: s.step, detLoss: s.detLoss, trainLoss: s.trainLoss, lr: s.lr });

describe('runTrainingLoop', () => {
  it('evaluates before each update and streams one sample per step', async () => {
    const sink = new MemorySink();
    const store = new MemoryStore();
    const result = await runTrainingLoop(start(), options, {
      objective: quadratic,
      batches,
      sink,
      stopSignal: never,
      store,
      clock: () => 1234,
    });
    expect(result.steps).toBe(40);
    expect(result.stopReason).toBe('max-steps');
    expect(sink.samples.map((s) => s.step)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    // Step 0's deterministic loss is at the initial weights (all ones).
    expect(sink.samples[0]!.detLoss).toBeCloseTo(
      await quadratic.loss(new Float32Array(D).fill(1), centre),
      12,
    );
    expect(sink.samples[39]!.detLoss!).toBeLessThan(sink.samples[0]!.detLoss! / 4);
    expect(sink.samples.every((s) => s.lr === 0.05 && s.wallTimeMs === 1234)).toBe(true);
    expect([...store.blobs.keys()]).toEqual([
      'checkpoints/step-00000010.safetensors',
      'checkpoints/step-00000020.safetensors',
      'checkpoints/step-00000030.safetensors',
      'checkpoints/step-00000040.safetensors',
    ]);
  });

  it('clips the gradient before AdamW only when maxGradNorm is given', async () => {
    const seen: Float32Array[] = [];
    const recording: LossAndGradient<Batch> = {
      loss: quadratic.loss,
      async lossAndGradient(rows, c) {
        const out = await quadratic.lossAndGradient(rows, c);
        return { ...out, gradient: out.gradient.map((g) => g * 100) };
      },
    };
    const run = async (extra: Partial<TrainLoopOptions>) =>
      runTrainingLoop(
        start(),
        { ...options, maxSteps: 3, ...extra },
        {
          objective: {
            ...recording,
            async lossAndGradient(rows, c) {
              const out = await recording.lossAndGradient(rows, c);
              seen.push(out.gradient);
              return out;
            },
          },
          batches,
          sink: new MemorySink(),
          stopSignal: never,
          store: new MemoryStore(),
        },
      );
    const plain = await run({});
    const loose = await run({ maxGradNorm: 1e9 });
    expect(loose.params).toEqual(plain.params);
    seen.length = 0;
    const clipped = await run({ maxGradNorm: 0.5 });
    // The loop clips the very gradient the objective returned, in place, before the update.
    for (const g of seen) expect(Math.hypot(...g)).toBeLessThanOrEqual(0.5 + 1e-6);
    expect(clipped.params).not.toEqual(plain.params);
  });

  it('evaluates only every evalEvery steps, one loss call (forward pass) per evaluation', async () => {
    const sink = new MemorySink();
    const evaluated: Batch[] = [];
    const counting: LossAndGradient<Batch> = {
      loss: async (rows, batch) => {
        evaluated.push(batch);
        return quadratic.loss(rows, batch);
      },
      lossAndGradient: (rows, batch) => quadratic.lossAndGradient(rows, batch),
    };
    await runTrainingLoop(
      start(),
      { ...options, maxSteps: 7, evalEvery: 3 },
      { objective: counting, batches, sink, stopSignal: never, store: new MemoryStore() },
    );
    expect(sink.samples.filter((s) => s.detLoss !== undefined).map((s) => s.step)).toEqual([0, 3, 6]);
    expect(evaluated).toHaveLength(3);
    expect(evaluated.every((b) => b === centre)).toBe(true);
  });

  it('also flushes and checks the stop signal when the flush interval has passed', async () => {
    const sink = new MemorySink();
    let now = 0;
    let checks = 0;
    await runTrainingLoop(
      start(),
      { ...options, maxSteps: 12, flushEvery: 1000, flushIntervalMs: 1000 },
      {
        objective: quadratic,
        batches,
        sink,
        stopSignal: { check: async () => ({ stop: ++checks < 0 }) },
        store: new MemoryStore(),
        // Each clock read advances 250 ms: the sample stamp and the interval check read it once per step.
        clock: () => (now += 250),
      },
    );
    expect(checks).toBeGreaterThanOrEqual(5);
    expect(checks).toBeLessThanOrEqual(7);
  });

  it('resumes from the latest checkpoint bit-for-bit', async () => {
    const straightSink = new MemorySink();
    const straight = await runTrainingLoop(start(), options, {
      objective: quadratic,
      batches,
      sink: straightSink,
      stopSignal: never,
      store: new MemoryStore(),
    });

    // Stopped by the signal at step 15 (a flush boundary), then resumed from the checkpoint written at the stop.
    const store = new MemoryStore();
    const firstSink = new MemorySink();
    let stopNow = false;
    const first = await runTrainingLoop(start(), options, {
      objective: quadratic,
      batches,
      sink: firstSink,
      stopSignal: { check: async () => ({ stop: stopNow, reason: 'cancelled' }) },
      store,
      onStep: (p) => {
        if (p.step === 14) stopNow = true;
      },
    });
    expect(first.steps).toBe(15);
    expect(first.stopReason).toBe('cancelled');
    const saved = await loadLatestCheckpoint(store);
    expect(saved?.step).toBe(15);
    const secondSink = new MemorySink();
    const second = await runTrainingLoop(saved!, options, {
      objective: quadratic,
      batches,
      sink: secondSink,
      stopSignal: never,
      store,
    });
    expect(second.resumedFrom).toBe(15);
    expect(second.steps).toBe(40);
    expect(second.params).toEqual(straight.params);
    expect(second.history).toEqual(straight.history);
    expect([...firstSink.samples, ...secondSink.samples].map(strip)).toEqual(straightSink.samples.map(strip));
  });

  it('stops in-process when the criterion holds and keeps the last weights', async () => {
    const sink = new MemorySink();
    const store = new MemoryStore();
    const result = await runTrainingLoop(
      start(),
      { ...options, maxSteps: 500 },
      {
        objective: quadratic,
        batches,
        sink,
        stopSignal: never,
        store,
        criterion: () => new DvarTracker({ window: 20, threshold: 0.15 }),
      },
    );
    expect(result.stopReason).toBe('criterion');
    expect(result.criterionStep).not.toBeNull();
    expect(result.steps).toBe(result.criterionStep! + 1);
    expect(result.finalRatio!).toBeLessThan(0.15);
    expect(sink.samples.at(-1)!.step).toBe(result.criterionStep);
    // A resumed run that had already stopped by the criterion stays stopped.
    const saved = await loadLatestCheckpoint(store);
    const again = await runTrainingLoop(
      saved!,
      { ...options, maxSteps: 500 },
      {
        objective: quadratic,
        batches,
        sink: new MemorySink(),
        stopSignal: never,
        store,
        criterion: () => new DvarTracker({ window: 20, threshold: 0.15 }),
      },
    );
    expect(again.steps).toBe(result.steps);
    expect(again.params).toEqual(result.params);
    // Without the criterion (e.g. --no-dvar) the same checkpoint trains on to the cap.
    const onward = await runTrainingLoop(
      (await loadLatestCheckpoint(store))!,
      { ...options, maxSteps: result.steps + 7 },
      { objective: quadratic, batches, sink: new MemorySink(), stopSignal: never, store: new MemoryStore() },
    );
    expect(onward.stopReason).toBe('max-steps');
    expect(onward.steps).toBe(result.steps + 7);
  });

  it('refuses a checkpoint made with different settings', async () => {
    const store = new MemoryStore();
    await runTrainingLoop(
      start(),
      { ...options, maxSteps: 10 },
      {
        objective: quadratic,
        batches,
        sink: new MemorySink(),
        stopSignal: never,
        store,
      },
    );
    const saved = await loadLatestCheckpoint(store);
    await expect(
      runTrainingLoop(
        saved!,
        { ...options, fingerprint: { seed: 60, lr: 0.05 } },
        {
          objective: quadratic,
          batches,
          sink: new MemorySink(),
          stopSignal: never,
          store,
        },
      ),
    ).rejects.toThrow(/different settings \(seed: 59 → 60\)/);
  });

  it('fails clearly on a non-finite loss', async () => {
    const broken: LossAndGradient<Batch> = {
      loss: async () => Number.NaN,
      lossAndGradient: quadratic.lossAndGradient,
    };
    await expect(
      runTrainingLoop(start(), options, {
        objective: broken,
        batches,
        sink: new MemorySink(),
        stopSignal: never,
        store: new MemoryStore(),
      }),
    ).rejects.toThrow(/deterministic loss is not finite at step 0/);
  });

  it('on an interruption checkpoints the step it is at (no flush boundary) and resumes there bit for bit', async () => {
    const straight = await runTrainingLoop(start(), options, {
      objective: quadratic,
      batches,
      sink: new MemorySink(),
      stopSignal: never,
      store: new MemoryStore(),
    });
    const store = new MemoryStore();
    const firstSink = new MemorySink();
    let term = false;
    const checkpoints: number[] = [];
    const interrupted = runTrainingLoop(start(), options, {
      objective: quadratic,
      batches,
      sink: firstSink,
      stopSignal: never,
      store,
      interrupted: () => term,
      onCheckpoint: (_key, step) => checkpoints.push(step),
      onStep: (p) => {
        if (p.step === 22) term = true;
      },
    });
    await expect(interrupted).rejects.toThrow(TrainingInterrupted);
    await expect(interrupted).rejects.toMatchObject({
      step: 23,
      key: 'checkpoints/step-00000023.safetensors',
    });
    // 23 is neither a checkpoint (every 10) nor a flush (every 5) boundary: the interruption wrote it.
    expect(checkpoints).toEqual([10, 20, 23]);
    expect(firstSink.samples.map((s) => s.step)).toEqual(Array.from({ length: 23 }, (_, i) => i));
    const resumed = await runTrainingLoop((await loadLatestCheckpoint(store))!, options, {
      objective: quadratic,
      batches,
      sink: new MemorySink(),
      stopSignal: never,
      store,
    });
    expect(resumed.resumedFrom).toBe(23);
    expect(resumed.params).toEqual(straight.params);
  });

  it('an interruption before the first step checkpoints the start state', async () => {
    const store = new MemoryStore();
    await expect(
      runTrainingLoop(start(), options, {
        objective: quadratic,
        batches,
        sink: new MemorySink(),
        stopSignal: never,
        store,
        interrupted: () => true,
      }),
    ).rejects.toMatchObject({ name: 'TrainingInterrupted', step: 0 });
    expect((await loadLatestCheckpoint(store))?.step).toBe(0);
  });

  it('trains up to a criterion step the monitor found ahead of it before stopping', async () => {
    // A resumed attempt at step 0 sees a criterion stop at step 17 (decided on a lost attempt's samples).
    const sink = new MemorySink();
    const result = await runTrainingLoop(start(), options, {
      objective: quadratic,
      batches,
      sink,
      stopSignal: { check: async () => ({ stop: true, reason: 'criterion', criterionStep: 17 }) },
      store: new MemoryStore(),
    });
    // Flushes every 5 steps: the first check after step 17 is trained is at step 20.
    expect(result.stopReason).toBe('criterion');
    expect(result.steps).toBe(20);
    expect(sink.samples.map((s) => s.step)).toContain(17);
  });
});
