// The reliability soak (issue 16's "measure and report"): jobs on the tiny-sd fixture with a short step cap,
// uploaded in bursts to the embedded pipeline with the real trainer under a trainer cap, while trainers are
// stopped at random steps (SIGTERM as a Spot reclaim, or SIGKILL) and S3 answers SlowDown now and then. Prints
// one JSON document: every job final, none lost, no duplicate or stale samples, every fixed-budget job (resumed
// or not) bit-identical to the uninterrupted reference, and every DVAR stop on a step that was trained.
// Usage: node bench/soak/main.ts [--quick] [--jobs N] [--max-steps N] [--burst N] [--max-trainers N] [--seed N]
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import sharp from 'sharp';
import { type EmbeddedPipeline, startEmbeddedPipeline } from '../../infra/embedded/embedded-pipeline.ts';
import { createDocumentClient } from '../../shared/aws/clients.ts';
import { ENV } from '../../shared/env.ts';
import { isFinal, type JobRecord } from '../../shared/job-record.ts';
import { jobKeys } from '../../shared/keys.ts';
import { readSafetensors } from '../../shared/safetensors.ts';
import { jobPartitionKey, PARTITION_KEY, SAMPLE_SORT_PREFIX, SORT_KEY } from '../../shared/table-layout.ts';
import { fixtureDir } from '../../test/support/fixtures.ts';
import { mulberry32 } from '../../test/support/mulberry32.ts';
import { startFaultProxy } from './s3-fault-proxy.ts';

const args = process.argv.slice(2);
const flag = (name: string): number | undefined => {
  const at = args.indexOf(name);
  const value = at >= 0 ? Number(args[at + 1]) : undefined;
  if (value !== undefined && !(Number.isInteger(value) && value > 0))
    throw new Error(`${name} must be a positive whole number (got ${args[at + 1]})`);
  return value;
};
const quick = args.includes('--quick');
const verbose = args.includes('--verbose');
const CONFIG = {
  jobs: flag('--jobs') ?? (quick ? 4 : 50),
  maxSteps: flag('--max-steps') ?? (quick ? 20 : 16),
  burst: flag('--burst') ?? (quick ? 4 : 10),
  /** Seconds between bursts. */
  burstGapSeconds: quick ? 0 : 20,
  seed: flag('--seed') ?? 16,
  /** DVAR jobs (every third) stop by the criterion over this window; the others train the whole cap. */
  dvarWindow: 4,
  /** How long a fault window answers 503 (outlasting the SDK's own three attempts). */
  faultWindowMs: 4000,
  /** A job not final after this long counts as lost. */
  jobTimeoutSeconds: quick ? 240 : 3600,
};
const maxTrainers = flag('--max-trainers');
const TOKEN = '<soak>';

type Fault = 'none' | 'sigterm' | 'sigkill' | 's3';
interface Plan {
  readonly jobId: string;
  readonly kind: 'fixed' | 'dvar';
  readonly fault: Fault;
  /** The step after which the fault is sent. */
  readonly atStep: number;
}

/** Job 0 is the uninterrupted reference; quick mode gives each fault once; the full soak draws them. */
function plans(random: () => number): Plan[] {
  return Array.from({ length: CONFIG.jobs }, (_, i) => {
    const jobId = `soak-${String(i).padStart(3, '0')}`;
    const kind = i % 3 === 2 ? 'dvar' : 'fixed';
    const drawn = random();
    const fault: Fault =
      i === 0
        ? 'none'
        : quick
          ? (['sigterm', 'sigkill', 's3'] as const)[(i - 1) % 3]!
          : drawn < 0.3
            ? 'sigterm'
            : drawn < 0.45
              ? 'sigkill'
              : drawn < 0.6
                ? 's3'
                : 'none';
    // Early in quick mode, so a fast machine cannot finish the job before the fault is sent.
    const atStep = 2 + Math.floor(random() * Math.max(1, quick ? 4 : CONFIG.maxSteps - 5));
    return { jobId, kind, fault, atStep };
  });
}

const log = (line: string) => {
  if (verbose) process.stderr.write(`${line}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function upload(pipeline: EmbeddedPipeline, plan: Plan, images: readonly Uint8Array[]) {
  const keys = jobKeys(plan.jobId);
  for (const [i, image] of images.entries())
    await pipeline.stores.objects.put(`${keys.imagesPrefix}${i}.png`, image);
  const stop =
    plan.kind === 'dvar'
      ? { window: CONFIG.dvarWindow, threshold: 0.5, evalEvery: 1, evalBatchSize: 2 }
      : { criterion: 'none', evalBatchSize: 2 };
  const manifest = {
    token: TOKEN,
    initializerToken: 'cat',
    baseModel: 'tiny-sd',
    training: { maxSteps: CONFIG.maxSteps, batchSize: 1 },
    stop,
  };
  await pipeline.stores.objects.put(keys.manifest, new TextEncoder().encode(JSON.stringify(manifest)));
}

/** Waits until the job has trained past `step`, then sends its fault; 'missed' when the job ended first. */
async function inject(
  pipeline: EmbeddedPipeline,
  plan: Plan,
  proxy: Awaited<ReturnType<typeof startFaultProxy>>,
): Promise<'sent' | 'missed'> {
  for (;;) {
    const record = await pipeline.stores.jobs.get(plan.jobId);
    if (record && isFinal(record.status)) return 'missed';
    const samples = await pipeline.stores.samples.read(plan.jobId);
    const last = samples[samples.length - 1]?.step ?? -1;
    if (record?.batchJobId && last >= plan.atStep) {
      if (plan.fault === 's3') {
        // The job's next S3 write (a checkpoint or an output) and everything of the job after it fail for a while.
        void proxy.failNext(jobKeys(plan.jobId).root, 'PUT', CONFIG.faultWindowMs);
        log(`fault: ${plan.jobId} S3 SlowDown window armed after step ${last}`);
        return 'sent';
      }
      try {
        pipeline.batch.reclaim(record.batchJobId, plan.fault === 'sigterm' ? 30_000 : undefined);
        log(`fault: ${plan.jobId} ${plan.fault} after step ${last}`);
        return 'sent';
      } catch {
        // Between attempts: try again on the next look.
      }
    }
    await sleep(100);
  }
}

interface JobOutcome {
  readonly plan: Plan;
  readonly record: JobRecord | undefined;
  readonly injected: 'sent' | 'missed' | 'none';
  readonly attempts: readonly (number | undefined)[];
  readonly storedSamples: number;
  readonly distinctSteps: number;
  readonly contiguous: boolean;
  readonly staleSamples: number;
  readonly embedding: Uint8Array | undefined;
  readonly resumedFrom: readonly number[];
}

async function outcome(
  pipeline: EmbeddedPipeline,
  documents: ReturnType<typeof createDocumentClient>,
  plan: Plan,
  injected: JobOutcome['injected'],
  lines: readonly string[],
): Promise<JobOutcome> {
  const record = await pipeline.stores.jobs.get(plan.jobId);
  const batch = record?.batchJobId ? await pipeline.batch.describe(record.batchJobId) : undefined;
  // Raw items, not the reader's normalized view: a duplicate would show here.
  const steps: number[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await documents.send(
      new QueryCommand({
        TableName: pipeline.aws.table,
        KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :prefix)',
        ExpressionAttributeNames: { '#pk': PARTITION_KEY, '#sk': SORT_KEY },
        ExpressionAttributeValues: { ':pk': jobPartitionKey(plan.jobId), ':prefix': SAMPLE_SORT_PREFIX },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of out.Items ?? []) steps.push(Number(item.step));
    start = out.LastEvaluatedKey;
  } while (start);
  const distinct = [...new Set(steps)].sort((a, b) => a - b);
  const lastStep = record?.lastStep ?? -1;
  const bytes = await pipeline.stores.objects.get(jobKeys(plan.jobId).embedding(TOKEN));
  const tensor = bytes ? readSafetensors(bytes).tensors.get(TOKEN) : undefined;
  const resumedFrom = lines.flatMap((line) => {
    const match = new RegExp(`job ${plan.jobId}: .*resuming at step (\\d+)`).exec(line);
    return match ? [Number(match[1])] : [];
  });
  return {
    plan,
    record,
    injected,
    attempts: batch?.attempts.map((a) => a.exitCode) ?? [],
    storedSamples: steps.length,
    distinctSteps: distinct.length,
    contiguous: distinct.every((step, i) => step === i),
    staleSamples: distinct.filter((step) => step > lastStep).length,
    embedding: tensor?.bytes,
    resumedFrom,
  };
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
  a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);

function summarize(outcomes: readonly JobOutcome[], submitted: number) {
  const byStatus: Record<string, number> = {};
  for (const o of outcomes) {
    const status = o.record?.status ?? 'MISSING';
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }
  const final = outcomes.filter((o) => o.record && isFinal(o.record.status)).length;
  const reference = outcomes.find((o) => o.plan.fault === 'none' && o.plan.kind === 'fixed')?.embedding;
  const fixed = outcomes.filter((o) => o.plan.kind === 'fixed' && o.record?.status === 'SUCCEEDED');
  const resumedFixed = fixed.filter((o) => o.attempts.length > 1);
  const dvar = outcomes.filter((o) => o.plan.kind === 'dvar' && o.record?.status === 'SUCCEEDED');
  const stoppedUntrained = dvar.filter(
    (o) => o.record?.criterionStep !== undefined && (o.record.lastStep ?? -1) < o.record.criterionStep,
  );
  const count = (fault: Fault) =>
    outcomes.filter((o) => o.plan.fault === fault && o.injected === 'sent').length;
  return {
    submitted,
    final,
    lost: submitted - final,
    byStatus,
    faults: {
      sigterm: count('sigterm'),
      sigkill: count('sigkill'),
      s3: count('s3'),
      missed: outcomes.filter((o) => o.injected === 'missed').length,
    },
    attempts: {
      total: outcomes.reduce((n, o) => n + o.attempts.length, 0),
      retriedJobs: outcomes.filter((o) => o.attempts.length > 1).length,
      exitCodes: countBy(outcomes.flatMap((o) => o.attempts.map((code) => String(code ?? 'none')))),
      resumedFromCheckpoint: outcomes.filter((o) => o.resumedFrom.length > 0).length,
    },
    samples: {
      duplicates: outcomes.reduce((n, o) => n + o.storedSamples - o.distinctSteps, 0),
      stale: outcomes.reduce((n, o) => n + o.staleSamples, 0),
      jobsWithGaps: outcomes.filter((o) => !o.contiguous).length,
    },
    identical: {
      fixedBudgetJobs: fixed.length,
      equalToReference: fixed.filter((o) => sameBytes(o.embedding, reference)).length,
      resumed: resumedFixed.length,
      resumedEqual: resumedFixed.filter((o) => sameBytes(o.embedding, reference)).length,
    },
    dvar: {
      jobs: dvar.length,
      byCriterion: dvar.filter((o) => o.record?.stopReason === 'criterion').length,
      stoppedOnUntrainedStep: stoppedUntrained.length,
    },
  };
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

async function main() {
  const started = Date.now();
  const random = mulberry32(CONFIG.seed);
  const lines: string[] = [];
  const proxy = await startFaultProxy('plateau');
  // The pipeline's own clients talk to s3rver directly; only the trainers go through the fault proxy.
  const pipeline = await startEmbeddedPipeline({
    projectRoot: process.cwd(),
    ...(maxTrainers === undefined ? {} : { maxTrainers }),
    // Validation images are not what the soak measures: the trainers skip them.
    trainerEnvironment: { AWS_ENDPOINT_URL_S3: proxy.endpoint, [ENV.VALIDATION_SAMPLES]: '0' },
    waitOverridesMs: { initial: 500 },
    retryIntervalMs: 10,
    reconcileEveryMs: 0,
    log: (line) => {
      lines.push(line);
      log(line);
    },
  });
  proxy.connect(pipeline.aws.s3Endpoint);
  const documents = createDocumentClient({
    region: pipeline.aws.region,
    credentials: pipeline.aws.credentials,
    endpoint: pipeline.aws.dynamodbEndpoint,
  });
  try {
    await pipeline.uploadFolder(fixtureDir('tiny-sd'), 'models/tiny-sd/');
    const images = await Promise.all(
      [0, 1].map(async (i) =>
        sharp({ create: { width: 48, height: 48, channels: 3, background: { r: 90 * i, g: 120, b: 30 } } })
          .png()
          .toBuffer(),
      ),
    );
    const all = plans(random);
    const injections: Promise<'sent' | 'missed' | 'none'>[] = [];
    for (let at = 0; at < all.length; at += CONFIG.burst) {
      if (at > 0) await sleep(CONFIG.burstGapSeconds * 1000);
      const burst = all.slice(at, at + CONFIG.burst);
      log(`burst: ${burst.map((p) => p.jobId).join(' ')}`);
      await Promise.all(burst.map((plan) => upload(pipeline, plan, images)));
      for (const plan of burst)
        injections.push(plan.fault === 'none' ? Promise.resolve('none') : inject(pipeline, plan, proxy));
    }
    const deadline = Date.now() + CONFIG.jobTimeoutSeconds * 1000;
    for (;;) {
      const records = await Promise.all(all.map((plan) => pipeline.stores.jobs.get(plan.jobId)));
      if (records.every((r) => r && isFinal(r.status)) || Date.now() > deadline) break;
      await sleep(500);
    }
    const injected = await Promise.all(
      injections.map((p) => Promise.race([p, sleep(1000).then(() => 'missed' as const)])),
    );
    await pipeline.idle();
    const outcomes = await Promise.all(
      all.map((plan, i) => outcome(pipeline, documents, plan, injected[i] ?? 'none', lines)),
    );
    const summary = summarize(outcomes, all.length);
    const ok =
      summary.lost === 0 &&
      summary.final === all.length &&
      (summary.byStatus.SUCCEEDED ?? 0) === all.length &&
      summary.samples.duplicates === 0 &&
      summary.samples.stale === 0 &&
      summary.samples.jobsWithGaps === 0 &&
      summary.identical.equalToReference === summary.identical.fixedBudgetJobs &&
      summary.dvar.stoppedOnUntrainedStep === 0;
    const result = {
      bench: 'soak',
      mode: quick ? 'quick' : 'full',
      config: { ...CONFIG, maxTrainers: pipeline.batch.maxTrainers, fixture: 'tiny-sd' },
      ok,
      ...summary,
      peakTrainers: pipeline.batch.peakTrainers,
      s3FaultResponses: proxy.failed(),
      wallSeconds: Math.round((Date.now() - started) / 100) / 10,
      jobs: outcomes.map((o) => ({
        jobId: o.plan.jobId,
        kind: o.plan.kind,
        fault: o.plan.fault,
        atStep: o.plan.atStep,
        injected: o.injected,
        status: o.record?.status ?? 'MISSING',
        lastStep: o.record?.lastStep ?? null,
        criterionStep: o.record?.criterionStep ?? null,
        attempts: o.attempts,
        resumedFrom: o.resumedFrom,
        ...(o.record?.error ? { error: o.record.error } : {}),
      })),
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    documents.destroy();
    await pipeline.close();
    await proxy.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
