// evaluate-stop's decisions with in-memory ports: DVAR on the stored history, Batch outcomes, the stop path
// after a request or a cancel, and the adaptive wait.

import { valuesUntilPossibleHold } from '../../../../functions/evaluate-stop/earliest-hold.ts';
import {
  chooseWait,
  DEFAULT_RUNNABLE_LIMIT_SECONDS,
  evaluateStop,
  parseEvaluateInput,
  parseRunnableLimit,
  WAIT_POLICY,
} from '../../../../functions/evaluate-stop/evaluate-stop.ts';
import { findCriterionIndex } from '../../../../shared/dvar.ts';
import type { JobRecord } from '../../../../shared/job-record.ts';
import { JobManifest, type JobManifestInput } from '../../../../shared/manifest.ts';
import type { LossSample } from '../../../../shared/ports.ts';
import { FakeBatch, ManualClock, MemoryJobStore, MemorySamples } from '../in-memory-ports.ts';

const T0 = '2026-01-01T00:00:00.000Z';
function record(overrides: Partial<JobRecord> = {}, manifest: Partial<JobManifestInput> = {}): JobRecord {
  return {
    jobId: 'j',
    status: 'RUNNING',
    createdAt: T0,
    updatedAt: T0,
    // evalEvery 1: these histories hold one deterministic loss per step.
    manifest: JobManifest.parse({
      token: '<cat>',
      stop: { window: 10, threshold: 0.15, evalEvery: 1 },
      ...manifest,
    }),
    batchJobId: 'b',
    stopRequested: false,
    attempts: 1,
    ...overrides,
  };
}

/** A loss that decays to a plateau: DVAR holds some steps after the decay flattens. */
function decaying(n: number, stepsPerSecond = 2): LossSample[] {
  return Array.from({ length: n }, (_, step) => ({
    step,
    detLoss: 0.1 + Math.exp(-step / 5) + (step % 2) * 1e-4,
    trainLoss: 0.3,
    lr: 0.01,
    wallTimeMs: Date.parse(T0) + (step * 1000) / stepsPerSecond,
  }));
}

async function setup(
  rec: JobRecord,
  samples: LossSample[] = [],
  batchStatus: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'RUNNABLE' = 'RUNNING',
) {
  const clock = new ManualClock('2026-01-01T01:00:00.000Z');
  const jobs = new MemoryJobStore(clock);
  await jobs.create(rec);
  const batch = new FakeBatch();
  batch.set('b', {
    status: batchStatus,
    statusReason: batchStatus === 'FAILED' ? 'Essential container exited' : undefined,
    attempts: [{ startedAtMs: Date.parse(T0) }],
    startedAtMs: Date.parse(T0),
  });
  const store = new MemorySamples();
  store.byJob.set('j', samples);
  return { deps: { jobs, samples: store, batch, clock }, jobs, batch };
}

test('the input is parsed at the edge', () => {
  expect(parseEvaluateInput({ jobId: 'j' })).toEqual({ jobId: 'j', stopRequested: false });
  expect(() => parseEvaluateInput({})).toThrow();
});

test('stop with the step at which DVAR first held', async () => {
  const samples = decaying(80);
  const expected = findCriterionIndex(
    samples.map((s) => s.detLoss!),
    { window: 10, threshold: 0.15 },
  );
  expect(expected).not.toBeNull();
  const { deps } = await setup(record(), samples);
  expect(await evaluateStop({ jobId: 'j', stopRequested: false }, deps)).toEqual({
    action: 'stop',
    waitSeconds: 1,
    criterionStep: expected,
    reason: 'criterion',
  });
});

test('the criterion step is the step of the history value, with evalEvery > 1 (the window in steps)', async () => {
  const samples = decaying(200).map((s) => (s.step % 3 === 0 ? s : { ...s, detLoss: undefined }));
  const history = samples.filter((s) => s.detLoss !== undefined);
  // A 30-step window evaluated every 3 steps holds 10 values.
  const index = findCriterionIndex(
    history.map((s) => s.detLoss!),
    { window: 10, threshold: 0.15 },
  );
  const { deps } = await setup(record({}, { stop: { window: 30, threshold: 0.15, evalEvery: 3 } }), samples);
  const decision = await evaluateStop({ jobId: 'j', stopRequested: false }, deps);
  expect(decision.criterionStep).toBe(history[index!]!.step);
  expect(decision.criterionStep! % 3).toBe(0);
});

test("criterion 'none' never stops", async () => {
  const { deps } = await setup(record({}, { stop: { criterion: 'none' } }), decaying(80));
  expect((await evaluateStop({ jobId: 'j', stopRequested: false }, deps)).action).toBe('continue');
});

test('continue while the plateau has not been reached', async () => {
  const { deps } = await setup(record(), decaying(8));
  expect((await evaluateStop({ jobId: 'j', stopRequested: false }, deps)).action).toBe('continue');
});

test('a non-finite deterministic loss fails the job instead of stopping quietly', async () => {
  const samples = decaying(20);
  samples[12] = { ...samples[12]!, detLoss: Number.NaN };
  const { deps } = await setup(record(), samples);
  const decision = await evaluateStop({ jobId: 'j', stopRequested: false }, deps);
  expect(decision.action).toBe('failed');
  expect(decision.reason).toMatch(/non-finite/);
});

test('Batch outcomes: SUCCEEDED is finished, FAILED is failed with the reason', async () => {
  const done = await setup(record(), decaying(5), 'SUCCEEDED');
  expect(
    await evaluateStop(
      { jobId: 'j', stopRequested: true, decision: { action: 'continue', waitSeconds: 5, criterionStep: 3 } },
      done.deps,
    ),
  ).toEqual({
    action: 'finished',
    waitSeconds: 1,
    criterionStep: 3,
  });
  const failed = await setup(record(), [], 'FAILED');
  expect(await evaluateStop({ jobId: 'j', stopRequested: false }, failed.deps)).toEqual({
    action: 'failed',
    waitSeconds: 1,
    reason: 'trainer failed: Essential container exited',
  });
  const trainerReason = await setup(record({ error: 'image cat.png does not decode' }), [], 'FAILED');
  expect((await evaluateStop({ jobId: 'j', stopRequested: false }, trainerReason.deps)).reason).toBe(
    'image cat.png does not decode',
  );
});

test('a job with no record, a failed record or an unknown Batch job is failed', async () => {
  const { deps } = await setup(record());
  expect((await evaluateStop({ jobId: 'other', stopRequested: false }, deps)).action).toBe('failed');
  const failed = await setup(record({ status: 'FAILED', error: 'boom' }));
  expect(await evaluateStop({ jobId: 'j', stopRequested: false }, failed.deps)).toMatchObject({
    action: 'failed',
    reason: 'boom',
  });
  const lost = await setup(record({ batchJobId: 'gone' }));
  expect((await evaluateStop({ jobId: 'j', stopRequested: false }, lost.deps)).reason).toMatch(
    /gone not found/,
  );
});

test('the first RUNNING seen moves a QUEUED job to RUNNING with the start time', async () => {
  const { deps, jobs } = await setup(record({ status: 'QUEUED', attempts: 0 }), decaying(3));
  await evaluateStop({ jobId: 'j', stopRequested: false }, deps);
  expect(await jobs.get('j')).toMatchObject({ status: 'RUNNING', startedAt: T0, attempts: 1 });
});

test('a job not yet running waits the queued interval; a running one without a rate polls quickly', async () => {
  const { deps, jobs } = await setup(record({ status: 'QUEUED' }), [], 'RUNNABLE');
  expect(await evaluateStop({ jobId: 'j', stopRequested: false }, deps)).toEqual({
    action: 'continue',
    waitSeconds: WAIT_POLICY.queuedWaitSeconds,
  });
  expect((await jobs.get('j'))?.status).toBe('QUEUED');
  const running = await setup(record(), decaying(1));
  expect(await evaluateStop({ jobId: 'j', stopRequested: false }, running.deps)).toEqual({
    action: 'continue',
    waitSeconds: WAIT_POLICY.startupWaitSeconds,
  });
});

test('a criterion stop flags the record at once (request-stop later repeats it)', async () => {
  const { deps, jobs } = await setup(record(), decaying(80));
  const decision = await evaluateStop({ jobId: 'j', stopRequested: false }, deps);
  expect(await jobs.get('j')).toMatchObject({
    status: 'STOPPING',
    stopRequested: true,
    stopReason: 'criterion',
    criterionStep: decision.criterionStep,
  });
});

test('near the threshold one invocation polls every pollMs and stops as soon as DVAR holds', async () => {
  // A trainer at 5 steps/s that writes one sample per 200 ms; DVAR (W = 10) holds at some step of the run.
  const full = decaying(120, 5);
  const holdsAt = findCriterionIndex(
    full.map((s) => s.detLoss!),
    { window: 10, threshold: 0.15 },
  )!;
  // QUEUED: this very evaluation moves it to RUNNING, and polling goes on regardless.
  const { deps, jobs } = await setup(record({ status: 'QUEUED', attempts: 0 }));
  const clock = deps.clock;
  clock.ms = full[holdsAt - 3]!.wallTimeMs;
  const trainer = {
    read: async () => full.filter((s) => s.wallTimeMs <= clock.ms),
    readAfter: async (_: string, after: number) =>
      full.filter((s) => s.step > after && s.wallTimeMs <= clock.ms),
  };
  const decision = await evaluateStop({ jobId: 'j', stopRequested: false }, { ...deps, samples: trainer });
  expect(decision).toMatchObject({ action: 'stop', criterionStep: holdsAt });
  expect(clock.sleeps.every((ms) => ms === WAIT_POLICY.pollMs)).toBe(true);
  // Seen within one poll of the sample's time.
  expect(clock.ms - full[holdsAt]!.wallTimeMs).toBeLessThanOrEqual(WAIT_POLICY.pollMs);
  expect((await jobs.get('j'))?.status).toBe('STOPPING');
});

test('fine polling hands back to the loop when the trainer goes quiet or a cancel arrives', async () => {
  const full = decaying(120, 5);
  const holdsAt = findCriterionIndex(
    full.map((s) => s.detLoss!),
    { window: 10, threshold: 0.15 },
  )!;
  const { deps, jobs } = await setup(record());
  deps.clock.ms = full[holdsAt - 3]!.wallTimeMs;
  const frozen = full.slice(0, holdsAt - 2);
  const quiet = { read: async () => frozen };
  const decision = await evaluateStop({ jobId: 'j', stopRequested: false }, { ...deps, samples: quiet });
  expect(decision).toEqual({ action: 'continue', waitSeconds: 1 });
  expect(deps.clock.sleeps.length).toBeLessThanOrEqual(
    Math.ceil((WAIT_POLICY.staleSeconds * 1000) / WAIT_POLICY.pollMs) + 1,
  );
  deps.clock.ms = full[holdsAt - 3]!.wallTimeMs;
  deps.clock.sleeps.length = 0;
  const cancelling = {
    read: async () => {
      await jobs.update('j', { from: ['RUNNING'], to: 'STOPPING', patch: { stopRequested: true } });
      return frozen;
    },
  };
  expect(await evaluateStop({ jobId: 'j', stopRequested: false }, { ...deps, samples: cancelling })).toEqual({
    action: 'continue',
    waitSeconds: 1,
  });
  expect(deps.clock.sleeps).toHaveLength(1);
});

test('after request-stop: keep polling at the exit interval, carrying the criterion step', async () => {
  const { deps } = await setup(
    record({
      status: 'STOPPING',
      stopRequested: true,
      stopReason: 'criterion',
      criterionStep: 42,
      stopRequestedAt: '2026-01-01T00:59:00.000Z',
    }),
    decaying(50),
  );
  expect(
    await evaluateStop(
      { jobId: 'j', stopRequested: true, decision: { action: 'stop', waitSeconds: 1, criterionStep: 42 } },
      deps,
    ),
  ).toEqual({
    action: 'continue',
    waitSeconds: WAIT_POLICY.exitWaitSeconds,
    criterionStep: 42,
  });
});

test('a trainer that ignores the stop request past the grace period is failed', async () => {
  const { deps } = await setup(
    record({ status: 'STOPPING', stopRequested: true, stopRequestedAt: '2026-01-01T00:30:00.000Z' }),
  );
  const decision = await evaluateStop({ jobId: 'j', stopRequested: true }, deps);
  expect(decision.action).toBe('failed');
  expect(decision.reason).toMatch(/still RUNNING 1800 s after the stop request/);
});

test('a cancel flagged on the record turns into a stop decision with reason cancelled', async () => {
  const { deps } = await setup(
    record({ status: 'STOPPING', stopRequested: true, stopReason: 'cancelled' }),
    decaying(5),
  );
  expect(await evaluateStop({ jobId: 'j', stopRequested: false }, deps)).toEqual({
    action: 'stop',
    waitSeconds: 1,
    reason: 'cancelled',
  });
});

describe('chooseWait', () => {
  const rec = (window: number, maxSteps = 6100) =>
    record({}, { stop: { window, threshold: 0.15, evalEvery: 1 }, training: { maxSteps } });
  const run = (n: number, rate: number) => decaying(n, rate);

  test('before two samples: the startup wait, or the queued wait while Batch has not started the trainer', () => {
    expect(chooseWait([], rec(310))).toBe(WAIT_POLICY.startupWaitSeconds);
    expect(chooseWait(run(1, 2), rec(310))).toBe(WAIT_POLICY.startupWaitSeconds);
    expect(chooseWait([], rec(310), undefined, false)).toBe(WAIT_POLICY.queuedWaitSeconds);
  });

  test('far from a possible stop: wait until DVAR can first hold, at the faster planning rate', () => {
    const samples = run(100, 2);
    const ahead = valuesUntilPossibleHold(
      samples.map((s) => s.detLoss!),
      { window: 310, threshold: 0.15 },
    );
    expect(ahead).toBeGreaterThanOrEqual(311 - 100);
    const expected = Math.floor((99 + ahead - 99) / (2 * WAIT_POLICY.rateMargin));
    expect(chooseWait(samples, rec(310))).toBe(expected);
    // Time the trainer has trained since its last sample counts.
    const last = samples[samples.length - 1]!.wallTimeMs;
    expect(chooseWait(samples, rec(310), last + 10_000)).toBe(expected - 10);
  });

  test('once a stop is possible at every step: 2% of the earliest criterion step, minus the overhead', () => {
    // 1000 values, DVAR already possible at the next one (step 1000) at 2 steps/s: 0.02 × 1000 / 2 − 2 = 8 s.
    expect(chooseWait(run(1000, 2), rec(310))).toBe(8);
    // A fast trainer gets the minimum wait (and evaluate-stop then polls finer within its invocation).
    expect(chooseWait(run(1000, 50), rec(310))).toBe(1);
  });

  test('the wait is capped, and shortened near maxSteps so the exit is seen promptly', () => {
    expect(chooseWait(run(400, 0.01), rec(10, 100_000))).toBe(WAIT_POLICY.maxWaitSeconds);
    expect(chooseWait(run(1000, 2), rec(310, 1004))).toBe(2);
  });

  test('the latency budget holds along a whole run: rate × (wait + overhead) ≤ 2% of the step', () => {
    for (const rate of [0.5, 2, 5]) {
      for (const n of [400, 1000, 3000, 6000]) {
        const wait = chooseWait(run(n, rate), rec(310));
        const latencySteps = rate * (wait + WAIT_POLICY.overheadSeconds);
        expect(latencySteps).toBeLessThanOrEqual(
          Math.max(0.02 * n, rate * (WAIT_POLICY.minWaitSeconds + WAIT_POLICY.overheadSeconds)) + 1e-9,
        );
      }
    }
  });
});

describe('no capacity', () => {
  it('counts the RUNNABLE wait from the last stopped attempt after a reclaim, and parses the limit', async () => {
    const { deps, batch } = await setup(record({ status: 'RUNNING' }), [], 'RUNNABLE');
    const reclaimedAt = Date.parse('2026-01-01T00:50:00.000Z');
    batch.set('b', {
      status: 'RUNNABLE',
      attempts: [{ startedAtMs: Date.parse(T0), stoppedAtMs: reclaimedAt }],
    });
    const state = parseEvaluateInput({ jobId: 'j' });
    expect((await evaluateStop(state, { ...deps, runnableLimitSeconds: 900 })).action).toBe('continue');
    expect(await evaluateStop(state, { ...deps, runnableLimitSeconds: 300 })).toMatchObject({
      action: 'failed',
      reason: 'no capacity: Batch job b RUNNABLE for 600 s (limit 300 s)',
    });
    expect(parseRunnableLimit(undefined)).toBe(DEFAULT_RUNNABLE_LIMIT_SECONDS);
    expect(parseRunnableLimit('120')).toBe(120);
    expect(() => parseRunnableLimit('soon')).toThrow(/runnable limit/);
  });
});
