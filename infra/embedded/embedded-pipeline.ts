// The whole pipeline on one machine: embedded S3 and DynamoDB, the monitor ASL under aws-local-stepfunctions,
// the four Lambda handlers' logic bound in-process with the same shared/ adapters the Lambdas use, and the
// local job runner for Batch. A job.json upload under jobs/ (from any S3 client) runs submit-job exactly as
// the bucket notification does in the cloud.
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { evaluateStop, parseEvaluateInput } from '../../functions/evaluate-stop/evaluate-stop.ts';
import { finalize, parseFinalizeInput } from '../../functions/finalize/finalize.ts';
import { parseRequestStopInput, requestStop } from '../../functions/request-stop/request-stop.ts';
import { reconcileJobs } from '../../functions/submit-job/reconcile.ts';
import {
  makeSubmitJobHandler,
  type SubmitJobDeps,
  type SubmitOutcome,
} from '../../functions/submit-job/submit-job.ts';
import { createDocumentClient } from '../../shared/aws/clients.ts';
import { DynamoDbJobStore } from '../../shared/aws/dynamodb-job-store.ts';
import { DynamoDbSampleReader } from '../../shared/aws/dynamodb-samples.ts';
import { S3ObjectStore } from '../../shared/aws/s3-store.ts';
import { ENV } from '../../shared/env.ts';
import { JOB_STATUSES } from '../../shared/job-record.ts';
import { JOBS_PREFIX, MANIFEST_SUFFIX } from '../../shared/keys.ts';
import { systemClock } from '../../shared/pipeline-ports.ts';
import { DEFAULT_GPU_HOUR_PRICE_USD } from '../../shared/savings.ts';
import { trainerSettings } from '../trainer-settings.ts';
import { type EmbeddedAws, type S3Notification, startEmbeddedAws } from './embedded-aws.ts';
import { LocalBatchJobs, parseMaxTrainers, type QueuedJob } from './local-batch.ts';
import { LocalEventBus } from './local-events.ts';
import { LocalMonitor, type MonitorTaskHandler } from './local-monitor.ts';

/** The job definition and queue names the local submit-job passes to the local runner (informational). */
export const LOCAL_JOB_QUEUE = 'plateau-local';
export const LOCAL_JOB_DEFINITION = 'plateau-trainer-local';

export interface EmbeddedPipelineOptions {
  /** The package folder (not the user's working directory): the trainer entry is found and run from here. */
  readonly projectRoot: string;
  /** Folder for S3 data (persisted when given) and the model cache; a temporary folder otherwise. */
  readonly stateDir?: string;
  /**
   * The trainer command line.
   * @default [process.execPath, '<projectRoot>/trainer-image/src/main.ts']
   */
  readonly trainerCommand?: readonly string[];
  /** @default 'cpu' (the embedded mode has no GPU runtime to probe; set 'auto' to try CUDA) */
  readonly executionProvider?: 'auto' | 'cuda' | 'cpu';
  /**
   * The price report.json's cost estimate uses: what the run would cost on the deployed stack's default instance.
   * @default DEFAULT_GPU_HOUR_PRICE_USD.onDemand
   */
  readonly gpuHourPriceUsd?: number;
  /** Monitor timing: the ASL's InitialWait seconds, or Wait overrides for tests. */
  readonly initialWaitSeconds?: number;
  readonly waitOverridesMs?: { readonly initial?: number; readonly loop?: number };
  readonly retryIntervalMs?: number;
  /** Wraps a monitor task's handler, e.g. to inject a fault in a test; the identity otherwise. */
  readonly wrapTask?: (
    task: 'evaluateStop' | 'requestStop' | 'finalize',
    handler: MonitorTaskHandler,
  ) => MonitorTaskHandler;
  /**
   * Trainers alive at once; more jobs wait in a FIFO queue (Batch's maxvCpus).
   * @default ENV.LOCAL_MAX_TRAINERS when set, else defaultMaxTrainers() (local-batch.ts)
   */
  readonly maxTrainers?: number;
  /** SIGTERM → SIGKILL grace of the local runner's TerminateJob. @default 30 s, as Batch */
  readonly stopGraceMs?: number;
  /** Extra environment for every trainer process (merged over the job definition's). */
  readonly trainerEnvironment?: Readonly<Record<string, string>>;
  /**
   * How often submit-job's reconciler runs (the deployed stack's 5-minute schedule); 0 turns the timer off.
   * @default 60_000
   */
  readonly reconcileEveryMs?: number;
  /** Progress and diagnostics: trainer output, monitor states, submit outcomes. */
  readonly log?: (line: string) => void;
}

export interface EmbeddedPipeline {
  readonly aws: EmbeddedAws;
  readonly batch: LocalBatchJobs;
  readonly monitor: LocalMonitor;
  readonly events: LocalEventBus;
  /** The adapters the in-process handlers use, for clients in the same process (the CLI's progress view). */
  readonly stores: {
    readonly objects: S3ObjectStore;
    readonly jobs: DynamoDbJobStore;
    readonly samples: DynamoDbSampleReader;
  };
  /** Outcomes of every submit-job run, in order. */
  readonly submissions: SubmitOutcome[];
  /** Runs submit-job's reconciler once, as its schedule does (finishes submissions that died mid-way). */
  reconcile(): Promise<SubmitOutcome[]>;
  /** The environment a client (or the trainer) needs to reach the embedded services. */
  readonly clientEnvironment: Readonly<Record<string, string>>;
  /** Uploads a folder's files under a key prefix (e.g. a base model to models/<name>/), as `aws s3 sync` would. */
  uploadFolder(dir: string, prefix: string): Promise<number>;
  /** Runs submit-job for an S3 event, as the bucket notification does (also used to replay events). */
  deliver(event: S3Notification): Promise<SubmitOutcome[]>;
  /** Resolves when no submit-job run and no monitor execution is in flight. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export async function startEmbeddedPipeline(options: EmbeddedPipelineOptions): Promise<EmbeddedPipeline> {
  const log = options.log ?? (() => {});
  const temporary = options.stateDir === undefined;
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), 'plateau-embedded-'));
  const aws = await startEmbeddedAws({
    dataDir: join(stateDir, 's3'),
    ...(temporary ? {} : { dynamoDir: join(stateDir, 'dynamodb') }),
  });
  const clientEnvironment: Record<string, string> = {
    AWS_REGION: aws.region,
    AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
    AWS_ENDPOINT_URL_S3: aws.s3Endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: aws.dynamodbEndpoint,
    AWS_EC2_METADATA_DISABLED: 'true',
  };
  const config = { region: aws.region, credentials: aws.credentials };
  const s3 = new S3Client({ ...config, endpoint: aws.s3Endpoint, forcePathStyle: true });
  const documents = createDocumentClient({ ...config, endpoint: aws.dynamodbEndpoint });
  const objects = new S3ObjectStore(s3, aws.bucket);
  const jobs = new DynamoDbJobStore(documents, aws.table);
  const samples = new DynamoDbSampleReader(documents, aws.table);
  const events = new LocalEventBus();
  const maxTrainers =
    options.maxTrainers ?? parseMaxTrainers(process.env[ENV.LOCAL_MAX_TRAINERS], ENV.LOCAL_MAX_TRAINERS);
  const positions = queuePositionWriter(jobs, log);
  const batch = new LocalBatchJobs({
    ...(maxTrainers === undefined ? {} : { maxTrainers }),
    ...(options.stopGraceMs === undefined ? {} : { stopGraceMs: options.stopGraceMs }),
    onQueueChange: positions.update,
    command: options.trainerCommand ?? [
      process.execPath,
      join(options.projectRoot, 'trainer-image/src/main.ts'),
    ],
    cwd: options.projectRoot,
    environment: {
      ...clientEnvironment,
      // What the job definition sets (plateau-stack.ts binds BUCKET and TABLE, trainerSettings the rest).
      [ENV.BUCKET]: aws.bucket,
      [ENV.TABLE]: aws.table,
      ...trainerSettings({
        modelCacheDir: join(stateDir, 'model-cache'),
        executionProvider: options.executionProvider ?? 'cpu',
      }),
      ...options.trainerEnvironment,
    },
    onOutput: (id, chunk) => log(`[trainer ${id.slice(0, 8)}] ${chunk.trimEnd()}`),
  });
  type Task = 'evaluateStop' | 'requestStop' | 'finalize';
  const handlers: Record<Task, MonitorTaskHandler> = {
    evaluateStop: (input) =>
      evaluateStop(parseEvaluateInput(input), { jobs, samples, batch, clock: systemClock }),
    requestStop: (input) => requestStop(parseRequestStopInput(input), { jobs, clock: systemClock }),
    finalize: (input) =>
      finalize(parseFinalizeInput(input), {
        objects,
        jobs,
        samples,
        batch,
        events,
        clock: systemClock,
        gpuHourPriceUsd: options.gpuHourPriceUsd ?? DEFAULT_GPU_HOUR_PRICE_USD.onDemand,
      }),
  };
  const wrap = options.wrapTask ?? ((_task: Task, handler: MonitorTaskHandler) => handler);
  const monitor = new LocalMonitor({
    ...(options.initialWaitSeconds === undefined ? {} : { initialWaitSeconds: options.initialWaitSeconds }),
    ...(options.waitOverridesMs ? { waitOverridesMs: options.waitOverridesMs } : {}),
    ...(options.retryIntervalMs === undefined ? {} : { retryIntervalMs: options.retryIntervalMs }),
    onState: (execution, state) => log(`[monitor ${execution}] ${state}`),
    handlers: {
      evaluateStop: wrap('evaluateStop', handlers.evaluateStop),
      requestStop: wrap('requestStop', handlers.requestStop),
      finalize: wrap('finalize', handlers.finalize),
    },
  });
  const submitDeps: SubmitJobDeps = {
    objects,
    jobs,
    batch,
    monitor,
    clock: systemClock,
    config: {
      bucket: aws.bucket,
      table: aws.table,
      jobQueue: LOCAL_JOB_QUEUE,
      jobDefinition: LOCAL_JOB_DEFINITION,
    },
    log: (message, fields) => log(`[submit-job] ${message} ${JSON.stringify(fields ?? {})}`),
  };
  const submitJob = makeSubmitJobHandler(submitDeps);
  const reconcile = () => reconcileJobs(jobs, submitDeps);
  const reconcileEveryMs = options.reconcileEveryMs ?? 60_000;
  const reconcileTimer =
    reconcileEveryMs > 0
      ? setInterval(() => {
          reconcile().catch((error: unknown) => log(`[submit-job] reconcile failed: ${String(error)}`));
        }, reconcileEveryMs).unref()
      : undefined;

  const submissions: SubmitOutcome[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const deliver = async (event: S3Notification) => {
    const outcomes = await submitJob(event);
    submissions.push(...outcomes);
    return outcomes;
  };
  // The bucket notification's filter: prefix jobs/, suffix input/job.json (JobBucket.notifyManifestUploads).
  aws.onObjectCreated((event) => {
    const record = event.Records[0] as { s3?: { bucket?: { name?: string }; object?: { key?: string } } };
    const key = decodeURIComponent((record.s3?.object?.key ?? '').replace(/\+/g, ' '));
    if (
      record.s3?.bucket?.name !== aws.bucket ||
      !key.startsWith(JOBS_PREFIX) ||
      !key.endsWith(MANIFEST_SUFFIX)
    ) {
      return;
    }
    const run = deliver(event).catch((error: unknown) => {
      log(`[submit-job] failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  });

  return {
    aws,
    batch,
    monitor,
    events,
    stores: { objects, jobs, samples },
    submissions,
    reconcile,
    clientEnvironment,
    deliver,
    async uploadFolder(dir, prefix) {
      const files = await listFiles(dir);
      for (const file of files) {
        const key = `${prefix}${relative(dir, file).split(sep).join('/')}`;
        await objects.put(key, await readFile(file));
      }
      return files.length;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.all(inFlight);
      await monitor.idle();
      await positions.settled();
    },
    async close() {
      clearInterval(reconcileTimer);
      while (inFlight.size > 0) await Promise.all(inFlight);
      await monitor.close();
      await batch.close();
      await positions.settled();
      s3.destroy();
      documents.destroy();
      await aws.close();
      if (temporary) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * Keeps `queuePosition` on the records of queued jobs (1 = next to start) and removes it from a job that left
 * the queue. Writes go one after another, so a later queue never loses to an earlier one; a position is written
 * only while the job is QUEUED.
 */
function queuePositionWriter(jobs: DynamoDbJobStore, log: (line: string) => void) {
  let chain: Promise<void> = Promise.resolve();
  let shown = new Map<string, number>();
  const jobIdOf = (queued: QueuedJob) => queued.environment[ENV.JOB_ID] ?? queued.jobName;
  const write = async (queue: readonly QueuedJob[]) => {
    const next = new Map(queue.map((queued, i) => [jobIdOf(queued), i + 1]));
    for (const [jobId, position] of next) {
      if (shown.get(jobId) === position) continue;
      await jobs.update(jobId, { from: ['QUEUED'], patch: { queuePosition: position } });
    }
    for (const jobId of shown.keys()) {
      if (next.has(jobId)) continue;
      // Whatever its status now: a job cancelled while queued is already CANCELLED when it leaves the queue.
      await jobs.update(jobId, { from: JOB_STATUSES, clear: ['queuePosition'] });
    }
    shown = next;
  };
  return {
    update(queue: readonly QueuedJob[]) {
      const snapshot = [...queue];
      chain = chain
        .then(() => write(snapshot))
        .catch((error: unknown) => log(`[batch] queue positions not written: ${String(error)}`));
    },
    settled: () => chain,
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return listFiles(path);
      return Promise.resolve(entry.isFile() ? [path] : []);
    }),
  );
  return nested.flat().sort();
}
