// Simulates the pipeline's monitor loop against a trainer timeline to measure what the wait policy achieves:
// stop latency (steps trained after the criterion step), evaluations, state transitions and DynamoDB requests
// per 1,000 steps, and what they cost. The real evaluate-stop and request-stop run; time is simulated.
// Usage: node bench/monitor-latency.ts [--quick]
import { evaluateStop } from '../functions/evaluate-stop/evaluate-stop.ts';
import { requestStop } from '../functions/request-stop/request-stop.ts';
import { findCriterionIndex } from '../shared/dvar.ts';
import {
  applyUpdate,
  conditionHolds,
  type JobCondition,
  JobRecord,
  type JobRecordPatch,
  type JobStatus,
  type JobStore,
} from '../shared/job-record.ts';
import { JobManifest } from '../shared/manifest.ts';
import type { MonitorState } from '../shared/monitor-contract.ts';
import type { BatchJobInfo, Clock } from '../shared/pipeline-ports.ts';
import type { LossSample } from '../shared/ports.ts';

/** Timing assumptions (seconds). */
const TIMING = {
  /** Monitor's first Wait (MonitorDefinition's initialWaitSeconds default). */
  initialWait: 30,
  /** Upload → first training step (Batch scheduling + image pull + model download; cloud, warm instance). */
  trainerStart: 90,
  /** One Lambda task including invocation overhead. */
  lambda: 0.25,
  /** One Step Functions state transition. */
  transition: 0.02,
  /** BatchWriteItem + GetItem on the trainer side at each flush. */
  flush: 0.03,
};
/** Step Functions state transitions per monitor loop: Wait, EvaluateStop, CountLoop, Decide, CheckHistory. */
const TRANSITIONS_PER_LOOP = 5;
/** us-east-1 list prices (2026): Standard workflow transitions, DynamoDB on-demand, Lambda arm64 512 MB. */
const PRICES = {
  transitionUsd: 0.025 / 1000,
  writeUnitUsd: 0.625 / 1e6,
  readUnitUsd: 0.125 / 1e6,
  lambdaGbSecondUsd: 0.0000133334,
  lambdaRequestUsd: 0.2 / 1e6,
};

interface Scenario {
  readonly rate: number;
  readonly flushEvery: number;
  readonly tau: number;
  readonly seed: number;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Deterministic loss on a fixed batch: decays with time constant tau to a plateau, small evaluation noise. */
function lossCurve(steps: number, tau: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: steps }, (_, k) => 0.12 + 0.1 * Math.exp(-k / tau) + 0.004 * (random() - 0.5));
}

class SimJobStore implements JobStore {
  readonly records = new Map<string, JobRecord>();
  readonly clock: Clock;
  constructor(clock: Clock) {
    this.clock = clock;
  }
  async get(jobId: string) {
    return this.records.get(jobId);
  }
  async create(record: JobRecord) {
    if (this.records.has(record.jobId)) return false;
    this.records.set(record.jobId, JobRecord.parse(record));
    return true;
  }
  async update(
    jobId: string,
    change: { from: readonly JobStatus[]; to?: JobStatus; patch?: JobRecordPatch; when?: JobCondition },
  ) {
    const record = this.records.get(jobId);
    if (!record || !change.from.includes(record.status) || !conditionHolds(record, change.when))
      return undefined;
    const updated = applyUpdate(record, change.to, change.patch ?? {}, this.clock.now());
    this.records.set(jobId, updated);
    return updated;
  }
}

function simulate(scenario: Scenario) {
  const manifest = JobManifest.parse({ token: '<sim>' });
  const maxSteps = manifest.training.maxSteps;
  const losses = lossCurve(maxSteps, scenario.tau, scenario.seed);
  const truth = findCriterionIndex(losses, manifest.stop);
  let now = 0;
  const clock: Clock = { now: () => new Date(Date.UTC(2026, 0, 1) + now * 1000), sleep: async () => {} };
  const jobs = new SimJobStore(clock);
  const iso = clock.now().toISOString();
  jobs.records.set(
    'sim',
    JobRecord.parse({
      jobId: 'sim',
      status: 'QUEUED',
      createdAt: iso,
      updatedAt: iso,
      manifest,
      batchJobId: 'b',
    }),
  );
  const t0 = TIMING.trainerStart;
  const stepSeconds = 1 / scenario.rate;
  // Trainer timeline: step k's sample becomes visible at the flush after it; the stop flag is read there.
  const stepDone = (k: number) =>
    t0 + (k + 1) * stepSeconds + Math.floor((k + 1) / scenario.flushEvery) * TIMING.flush;
  const visibleAt = (k: number) =>
    stepDone(Math.ceil((k + 1) / scenario.flushEvery) * scenario.flushEvery - 1);
  let stopFlagAt: number | undefined;
  let lastStep: number | undefined;
  const trainerLastStep = () => {
    if (lastStep !== undefined) return lastStep;
    if (stopFlagAt === undefined) return undefined;
    // First flush (after step k with (k + 1) % flushEvery == 0) at or after the flag.
    for (let k = scenario.flushEvery - 1; k < maxSteps; k += scenario.flushEvery) {
      if (stepDone(k) >= stopFlagAt) return k;
    }
    return maxSteps - 1;
  };
  const samplesAt = (t: number): LossSample[] => {
    const end = Math.min(trainerLastStep() ?? maxSteps - 1, maxSteps - 1);
    const out: LossSample[] = [];
    for (let k = 0; k <= end && visibleAt(k) <= t; k++) {
      out.push({
        step: k,
        detLoss: losses[k],
        trainLoss: losses[k]!,
        lr: 0.01,
        wallTimeMs: stepDone(k) * 1000,
      });
    }
    return out;
  };
  const batchAt = (t: number): BatchJobInfo => {
    const last = trainerLastStep();
    const exitAt = last === undefined ? stepDone(maxSteps - 1) : stepDone(last) + 2;
    if (t >= exitAt)
      return {
        batchJobId: 'b',
        status: 'SUCCEEDED',
        attempts: [{ startedAtMs: t0 * 1000, stoppedAtMs: exitAt * 1000 }],
      };
    if (t >= t0)
      return {
        batchJobId: 'b',
        status: 'RUNNING',
        attempts: [{ startedAtMs: t0 * 1000 }],
        startedAtMs: t0 * 1000,
      };
    return { batchJobId: 'b', status: 'RUNNABLE', attempts: [] };
  };
  const deps = {
    jobs,
    samples: { read: async () => samplesAt(now) },
    batch: {
      describe: async () => batchAt(now),
      submit: async () => ({ batchJobId: 'b' }),
      terminate: async () => {},
    },
    clock,
  };
  return {
    deps,
    truth,
    losses,
    setNow: (t: number) => (now = t),
    getNow: () => now,
    trainerLastStep,
    setFlag: (t: number) => (stopFlagAt = t),
    fix: () => (lastStep = trainerLastStep()),
    stepDone,
  };
}

async function run(scenario: Scenario) {
  const sim = simulate(scenario);
  let state: MonitorState = { jobId: 'sim', stopRequested: false };
  let t = TIMING.initialWait + 2 * TIMING.transition;
  let evaluations = 0;
  let transitions = 2;
  let criterionStep: number | undefined;
  let sampleReadBytes = 0;
  for (;;) {
    sim.setNow(t);
    const visible = await sim.deps.samples.read();
    sampleReadBytes += visible.length * 110;
    const decision = await evaluateStop(state, sim.deps);
    evaluations++;
    transitions += TRANSITIONS_PER_LOOP;
    t += TIMING.lambda + 3 * TIMING.transition;
    state = { ...state, decision };
    if (decision.action === 'finished' || decision.action === 'failed') break;
    if (decision.action === 'stop') {
      criterionStep = decision.criterionStep;
      sim.setNow(t);
      state = await requestStop(state, sim.deps);
      t += TIMING.lambda;
      sim.setFlag(t);
      sim.fix();
      transitions += 3;
    }
    t += (state.decision?.waitSeconds ?? 1) + TIMING.transition;
  }
  transitions += 2;
  const last = sim.trainerLastStep() ?? 6099;
  const steps = last + 1;
  const latency = criterionStep === undefined ? null : last - criterionStep;
  const perThousand = 1000 / steps;
  const readUnits = sampleReadBytes / 4096 + evaluations * 2;
  // Trainer side: one BatchWriteItem item (1 WRU, < 1 KB) per step; one consistent GetItem (1 RRU) per flush.
  const writeUnits = steps;
  const trainerReads = Math.ceil(steps / scenario.flushEvery);
  const lambdaUsd =
    (evaluations + 2) * (PRICES.lambdaRequestUsd + 0.5 * TIMING.lambda * PRICES.lambdaGbSecondUsd);
  const costUsd =
    transitions * PRICES.transitionUsd +
    writeUnits * PRICES.writeUnitUsd +
    (readUnits + trainerReads) * PRICES.readUnitUsd +
    lambdaUsd;
  return {
    ...scenario,
    criterionStepTruth: sim.truth,
    criterionStep: criterionStep ?? null,
    lastStep: last,
    stopLatencySteps: latency,
    stopLatencyFraction:
      latency === null || !criterionStep ? null : Number((latency / criterionStep).toFixed(4)),
    meetsTarget:
      latency !== null && criterionStep !== undefined && (latency <= 0.02 * criterionStep || latency <= 5),
    lastStepToFinishedSeconds: Number((t - sim.stepDone(last)).toFixed(1)),
    evaluations,
    per1000Steps: {
      evaluations: Number((evaluations * perThousand).toFixed(1)),
      stateTransitions: Number((transitions * perThousand).toFixed(1)),
      dynamoWriteUnits: Math.round(writeUnits * perThousand),
      dynamoReadUnits: Math.round((readUnits + trainerReads) * perThousand),
    },
    pipelineCostUsd: Number(costUsd.toFixed(5)),
    gpuCostUsdAt1_006PerHour: Number(((steps / scenario.rate / 3600) * 1.006).toFixed(4)),
  };
}

const quick = process.argv.includes('--quick');
const scenarios: Scenario[] = [];
for (const flushEvery of quick ? [1] : [1, 10]) {
  for (const rate of quick ? [3] : [1, 3, 8]) {
    for (const tau of quick ? [60] : [40, 120, 400]) scenarios.push({ rate, flushEvery, tau, seed: 7 });
  }
}
const results = [];
for (const scenario of scenarios) results.push(await run(scenario));
console.log(JSON.stringify({ bench: 'monitor-latency', timing: TIMING, results }, null, 1));
