// Simulates the pipeline's monitor loop against a trainer timeline to measure what the wait policy achieves:
// stop latency (steps trained after the criterion step), evaluations, state transitions and DynamoDB requests
// per 1,000 steps, and what they cost. The real evaluate-stop and request-stop run; time is simulated (the
// clock's sleep advances it, so evaluate-stop's in-invocation polling is simulated too). The trainer flushes
// (and reads the stop flag) every 50 steps or 1 s, as trainer-image's pipeline job does; its samples become
// visible at the flush, or one round trip after the step with the sink's write-behind.
// Usage: node bench/monitor-latency.ts [--quick] [--no-write-behind] [--flush-interval <seconds>]
import { evaluateStop } from '../functions/evaluate-stop/evaluate-stop.ts';
import { requestStop } from '../functions/request-stop/request-stop.ts';
import { findCriterionIndex } from '../shared/dvar.ts';
import {
  applyUpdate,
  conditionHolds,
  type JobChange,
  JobRecord,
  type JobStore,
} from '../shared/job-record.ts';
import { JobManifest } from '../shared/manifest.ts';
import type { MonitorState } from '../shared/monitor-contract.ts';
import type { BatchJobInfo, Clock } from '../shared/pipeline-ports.ts';
import type { LossSample } from '../shared/ports.ts';
import { mulberry32 } from '../test/support/mulberry32.ts';

/** Timing assumptions (seconds). */
const TIMING = {
  /** Monitor's first Wait (MonitorDefinition's initialWaitSeconds default). */
  initialWait: 10,
  /** Upload → first training step (Batch scheduling + image pull + model download; cloud, warm instance). */
  trainerStart: 90,
  /** One Lambda task including invocation overhead. */
  lambda: 0.25,
  /** One Step Functions state transition. */
  transition: 0.02,
  /** BatchWriteItem + GetItem on the trainer side at each flush. */
  flush: 0.03,
  /** One DynamoDB request (a write-behind sample becoming visible; the stop flag's write). */
  dynamo: 0.01,
};
/** The pipeline trainer's flush cadence (trainer-image/src/train/training-job.ts; --flush-interval to vary). */
const flushArg = process.argv.indexOf('--flush-interval');
const TRAINER_FLUSH = {
  everySteps: 50,
  intervalSeconds: flushArg > 0 ? Number(process.argv[flushArg + 1]) : 1,
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
  readonly writeBehind: boolean;
  readonly tau: number;
  readonly seed: number;
}

/** Deterministic loss on a fixed batch: decays with time constant tau to a plateau, small evaluation noise. */
function lossCurve(steps: number, tau: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: steps }, (_, k) => 0.12 + 0.1 * Math.exp(-k / tau) + 0.004 * (random() - 0.5));
}

class SimJobStore implements JobStore {
  readonly records = new Map<string, JobRecord>();
  readonly clock: Clock;
  /** Simulated time at which the stop flag was first set (by whichever function set it). */
  flaggedAt: number | undefined;
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
  async update(jobId: string, change: JobChange) {
    const record = this.records.get(jobId);
    if (!record || !change.from.includes(record.status) || !conditionHolds(record, change.when))
      return undefined;
    const updated = applyUpdate(record, change.to, change.patch ?? {}, this.clock.now(), change.clear);
    this.records.set(jobId, updated);
    if (updated.stopRequested && this.flaggedAt === undefined) this.flaggedAt = this.clock.now().getTime();
    return updated;
  }
}

function simulate(scenario: Scenario) {
  const manifest = JobManifest.parse({ token: '<sim>' });
  const maxSteps = manifest.training.maxSteps;
  const losses = lossCurve(maxSteps, scenario.tau, scenario.seed);
  const truth = findCriterionIndex(losses, manifest.stop);
  const epoch = Date.UTC(2026, 0, 1);
  let now = 0;
  const clock: Clock = {
    now: () => new Date(epoch + now * 1000),
    sleep: async (ms: number) => {
      now += ms / 1000;
    },
  };
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
  // Trainer timeline: step k ends at stepDone(k); flushes (which also read the stop flag) follow the steps
  // that complete 50 steps or 1 s since the last flush, and take TIMING.flush.
  const stepDoneAt = new Float64Array(maxSteps);
  const isFlush = new Uint8Array(maxSteps);
  let t = t0;
  let lastFlush = t0;
  for (let k = 0; k < maxSteps; k++) {
    t += 1 / scenario.rate;
    stepDoneAt[k] = t;
    if ((k + 1) % TRAINER_FLUSH.everySteps === 0 || t - lastFlush >= TRAINER_FLUSH.intervalSeconds) {
      isFlush[k] = 1;
      t += TIMING.flush;
      lastFlush = t;
    }
  }
  const stepDone = (k: number) => stepDoneAt[Math.min(k, maxSteps - 1)]!;
  const nextFlush = (k: number) => {
    let j = k;
    while (j < maxSteps - 1 && !isFlush[j]) j++;
    return j;
  };
  const visibleAt = (k: number) =>
    scenario.writeBehind ? stepDone(k) + TIMING.dynamo : stepDone(nextFlush(k)) + TIMING.flush;
  const trainerLastStep = () => {
    if (jobs.flaggedAt === undefined) return undefined;
    const flagAt = (jobs.flaggedAt - epoch) / 1000 + TIMING.dynamo;
    // The first flush whose flag read comes after the flag was written.
    for (let k = 0; k < maxSteps; k++) if (isFlush[k] && stepDone(k) + TIMING.flush >= flagAt) return k;
    return maxSteps - 1;
  };
  const samplesAt = (at: number, after = -1): LossSample[] => {
    const end = Math.min(trainerLastStep() ?? maxSteps - 1, maxSteps - 1);
    const out: LossSample[] = [];
    for (let k = after + 1; k <= end && visibleAt(k) <= at; k++) {
      out.push({
        step: k,
        detLoss: losses[k],
        trainLoss: losses[k]!,
        lr: 0.01,
        wallTimeMs: epoch + stepDone(k) * 1000,
      });
    }
    return out;
  };
  const batchAt = (at: number): BatchJobInfo => {
    const last = trainerLastStep();
    const exitAt = last === undefined ? stepDone(maxSteps - 1) : stepDone(last) + 2;
    if (at >= exitAt)
      return {
        batchJobId: 'b',
        status: 'SUCCEEDED',
        attempts: [{ startedAtMs: t0 * 1000, stoppedAtMs: exitAt * 1000 }],
      };
    if (at >= t0)
      return {
        batchJobId: 'b',
        status: 'RUNNING',
        attempts: [{ startedAtMs: t0 * 1000 }],
        startedAtMs: t0 * 1000,
      };
    return { batchJobId: 'b', status: 'RUNNABLE', attempts: [] };
  };
  /** DynamoDB read traffic of the monitor: items read (full and incremental queries). */
  const reads = { items: 0, queries: 0 };
  const deps = {
    jobs,
    samples: {
      read: async () => {
        const out = samplesAt(now);
        reads.items += out.length;
        reads.queries++;
        return out;
      },
      readAfter: async (_jobId: string, after: number) => {
        const out = samplesAt(now, after);
        reads.items += out.length;
        reads.queries++;
        return out;
      },
    },
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
    reads,
    setNow: (at: number) => {
      now = at;
    },
    getNow: () => now,
    trainerLastStep,
    stepDone,
    flushesUpTo: (k: number) => isFlush.subarray(0, k + 1).reduce((a, b) => a + b, 0),
  };
}

async function run(scenario: Scenario) {
  const sim = simulate(scenario);
  let state: MonitorState = { jobId: 'sim', stopRequested: false };
  let t = TIMING.initialWait + 2 * TIMING.transition;
  let evaluations = 0;
  let transitions = 2;
  let lambdaSeconds = 0;
  let criterionStep: number | undefined;
  for (;;) {
    sim.setNow(t);
    const decision = await evaluateStop(state, sim.deps);
    // Time spent polling inside the invocation, plus the invocation itself.
    const held = sim.getNow() - t;
    lambdaSeconds += held + TIMING.lambda;
    evaluations++;
    transitions += TRANSITIONS_PER_LOOP;
    t = sim.getNow() + TIMING.lambda + 3 * TIMING.transition;
    state = { ...state, decision };
    if (decision.action === 'finished' || decision.action === 'failed') break;
    if (decision.action === 'stop') {
      criterionStep ??= decision.criterionStep;
      sim.setNow(t);
      state = await requestStop(state, sim.deps);
      t += TIMING.lambda;
      lambdaSeconds += TIMING.lambda;
      transitions += 3;
    }
    t += (state.decision?.waitSeconds ?? 1) + TIMING.transition;
  }
  transitions += 2;
  const last = sim.trainerLastStep() ?? 6099;
  const steps = last + 1;
  const latency = criterionStep === undefined ? null : last - criterionStep;
  const perThousand = 1000 / steps;
  // Strongly consistent queries: 1 RRU per 4 KB read (an item is ~110 B), at least 1 per query; 1 GetItem each.
  const readUnits = Math.max(sim.reads.queries, (sim.reads.items * 110) / 4096) + evaluations * 2;
  // Trainer side: one write unit per sample (< 1 KB; batched or not); one consistent GetItem per flush.
  const writeUnits = steps;
  const trainerReads = sim.flushesUpTo(last);
  const lambdaUsd =
    (evaluations + 2) * PRICES.lambdaRequestUsd + 0.5 * lambdaSeconds * PRICES.lambdaGbSecondUsd;
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
    lambdaSeconds: Number(lambdaSeconds.toFixed(1)),
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
const writeBehind = !process.argv.includes('--no-write-behind');
const scenarios: Scenario[] = [];
for (const rate of quick ? [3] : [1, 3, 8]) {
  for (const tau of quick ? [60] : [40, 120, 400]) {
    for (const seed of quick ? [7] : [7, 8, 9]) scenarios.push({ rate, writeBehind, tau, seed });
  }
}
const results = [];
for (const scenario of scenarios) results.push(await run(scenario));
const latencies = results.map((r) => r.stopLatencySteps ?? Number.NaN).sort((a, b) => a - b);
const fractions = results.map((r) => r.stopLatencyFraction ?? Number.NaN).sort((a, b) => a - b);
const summary = {
  scenarios: results.length,
  meetsTarget: results.filter((r) => r.meetsTarget).length,
  latencySteps: { median: latencies[latencies.length >> 1], max: latencies[latencies.length - 1] },
  latencyFraction: { median: fractions[fractions.length >> 1], max: fractions[fractions.length - 1] },
  pipelineCostUsd: {
    median: results.map((r) => r.pipelineCostUsd).sort((a, b) => a - b)[results.length >> 1],
  },
};
console.log(
  JSON.stringify(
    { bench: 'monitor-latency', writeBehind, trainerFlush: TRAINER_FLUSH, timing: TIMING, summary, results },
    null,
    1,
  ),
);
