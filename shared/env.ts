// Environment variable names, defined once: infra sets them (CDK functions and the Batch job definition),
// the Lambda handlers and the trainer read them. Add a name here before using it anywhere.
export const ENV = {
  /** S3 bucket holding jobs/<jobId>/… and models/<name>/… */
  BUCKET: 'PLATEAU_BUCKET',
  /** DynamoDB table holding job records and loss samples. */
  TABLE: 'PLATEAU_TABLE',
  /** AWS Batch job queue (name or ARN) the submit-job Lambda submits to. */
  JOB_QUEUE: 'PLATEAU_JOB_QUEUE',
  /** AWS Batch job definition (name or ARN) for the trainer. */
  JOB_DEFINITION: 'PLATEAU_JOB_DEFINITION',
  /** Step Functions state machine ARN of the monitor. */
  STATE_MACHINE_ARN: 'PLATEAU_STATE_MACHINE_ARN',
  /** EventBridge bus that receives job completion events. */
  EVENT_BUS: 'PLATEAU_EVENT_BUS',
  /** Secret (ARN) holding the HMAC key that signs webhook deliveries. */
  WEBHOOK_SECRET_ARN: 'PLATEAU_WEBHOOK_SECRET_ARN',
  /** Price of one GPU-hour in USD, for the cost estimate in report.json. */
  GPU_HOUR_PRICE_USD: 'PLATEAU_GPU_HOUR_PRICE_USD',
  /** Days loss samples are kept (DynamoDB TTL). */
  SAMPLE_TTL_DAYS: 'PLATEAU_SAMPLE_TTL_DAYS',
  /** The job the trainer container works on (set per job at SubmitJob). */
  JOB_ID: 'PLATEAU_JOB_ID',
  /** Local folder where the trainer caches base models downloaded from S3. */
  MODEL_CACHE_DIR: 'PLATEAU_MODEL_CACHE_DIR',
  /** Seconds a Batch job may wait RUNNABLE (no instance to place it on) before the job fails "no capacity". */
  RUNNABLE_LIMIT_SECONDS: 'PLATEAU_RUNNABLE_LIMIT_SECONDS',
  /** Execution provider preference for the trainer: 'cuda' | 'cpu' | 'auto' (default auto). */
  EXECUTION_PROVIDER: 'PLATEAU_EXECUTION_PROVIDER',
  /** GPU memory (bytes) every instance type of the compute environment has: the trainer refuses jobs that exceed it. */
  GPU_MEMORY_BYTES: 'PLATEAU_GPU_MEMORY_BYTES',
  /** Validation prompts the trainer draws after training (default all; 0 = none, e.g. for the soak bench). */
  VALIDATION_SAMPLES: 'PLATEAU_VALIDATION_SAMPLES',
  /** The embedded runtime only: trainers its local job runner runs at once (default: what the machine holds). */
  LOCAL_MAX_TRAINERS: 'PLATEAU_LOCAL_MAX_TRAINERS',
} as const;

export type EnvKey = keyof typeof ENV;
export type EnvName = (typeof ENV)[EnvKey];

/** Reads the named variables once (at cold start) and throws one error listing every missing one. */
export function readEnv<K extends EnvKey>(
  keys: readonly K[],
  source: Readonly<Record<string, string | undefined>> = process.env,
): Record<K, string> {
  const missing = keys.filter((key) => !source[ENV[key]]);
  if (missing.length > 0) {
    throw new Error(`missing environment variable(s): ${missing.map((key) => ENV[key]).join(', ')}`);
  }
  return Object.fromEntries(keys.map((key) => [key, source[ENV[key]] as string])) as Record<K, string>;
}
