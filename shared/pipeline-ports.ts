// Ports the pipeline's Lambda logic depends on beyond shared/ports.ts: the bucket, AWS Batch, the monitor
// state machine, the event bus and the webhook. AWS adapters live in shared/aws/; tests use in-memory ones;
// the embedded runtime (infra/embedded/) brings its own Batch runner with the same contract.

/** One object in a listing. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** The object's ETag as S3 returns it (quoted); changes whenever the object is replaced. */
  readonly etag?: string;
}

/** A read pinned to an ETag found the object replaced or gone: the caller's inputs changed under it. */
export class ObjectChangedError extends Error {
  readonly key: string;
  constructor(key: string, detail: string) {
    super(`${key} ${detail}`);
    this.key = key;
    this.name = 'ObjectChangedError';
  }
}

/** The bucket, addressed by full keys (shared/keys.ts builds them). */
export interface ObjectStore {
  /** Every object under the prefix (all pages). */
  list(prefix: string): Promise<ObjectInfo[]>;
  /**
   * The object's bytes, or only bytes [start, end] inclusive when a range is given; undefined if absent. With
   * `expect`, the bytes must come from the object with that ETag: a replaced one throws ObjectChangedError.
   */
  get(
    key: string,
    range?: { readonly start: number; readonly end: number },
    expect?: { readonly etag: string },
  ): Promise<Uint8Array | undefined>;
  /** Size (and ETag) of the object, undefined if absent. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** `tags` become the object's tags (set with the upload, so the object never exists without them). */
  put(
    key: string,
    body: Uint8Array,
    contentType?: string,
    tags?: Readonly<Record<string, string>>,
  ): Promise<void>;
}

export const BATCH_STATUSES = [
  'SUBMITTED',
  'PENDING',
  'RUNNABLE',
  'STARTING',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export interface BatchJobInfo {
  readonly batchJobId: string;
  readonly status: BatchStatus;
  readonly statusReason?: string;
  /** Start and stop times (ms since epoch) of each attempt that started, in order. */
  readonly attempts: readonly {
    readonly startedAtMs?: number;
    readonly stoppedAtMs?: number;
    readonly exitCode?: number;
  }[];
  readonly startedAtMs?: number;
  readonly stoppedAtMs?: number;
}

export interface BatchSubmitRequest {
  readonly jobName: string;
  readonly jobQueue: string;
  readonly jobDefinition: string;
  /** Per-job container environment (merged over the job definition's). */
  readonly environment: Readonly<Record<string, string>>;
}

/** AWS Batch as the pipeline uses it (SubmitJob, DescribeJobs, TerminateJob), or the local job runner. */
export interface BatchJobs {
  submit(request: BatchSubmitRequest): Promise<{ readonly batchJobId: string }>;
  /** undefined when Batch no longer knows the job (it forgets finished jobs after about a week). */
  describe(batchJobId: string): Promise<BatchJobInfo | undefined>;
  terminate(batchJobId: string, reason: string): Promise<void>;
  /**
   * The ids of the jobs named `jobName` in `jobQueue` created at or after `createdAfterMs`, oldest first (Batch's
   * ListJobs by name): how a retried submission finds the job an earlier attempt submitted but never recorded.
   * Optional: a runner that cannot outlive its submitter (the embedded one) has no orphans to find.
   */
  findByName?(jobQueue: string, jobName: string, createdAfterMs: number): Promise<string[]>;
}

/** Starts the monitor execution named after the job; starting it twice is not an error. */
export interface MonitorStarter {
  /** Returns the execution ARN, also when an execution of that name already existed. */
  start(
    name: string,
    input: unknown,
  ): Promise<{ readonly executionArn: string; readonly alreadyStarted: boolean }>;
}

/** Publishes pipeline events (EventBridge in the cloud). */
export interface EventPublisher {
  publish(detailType: string, detail: unknown): Promise<void>;
}

/** Delivers one webhook POST; resolves with the HTTP status, rejects on a network error. */
export interface HttpPoster {
  post(url: string, body: string, headers: Readonly<Record<string, string>>): Promise<number>;
}

/** A secret value (the webhook HMAC key), read once and cached by the adapter. */
export interface SecretSource {
  get(): Promise<string>;
}

/** Time, injected so tests control it. */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
